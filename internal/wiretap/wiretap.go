// Package wiretap is a TCP proxy on 127.0.0.1 that counts the bytes it
// forwards each way, for tests that must observe what went on the wire
// (compression, flow control) with peers whose API does not tell.
package wiretap

import (
	"net"
	"sync"
	"sync/atomic"
)

// Tap forwards every connection made to Addr to its target.
type Tap struct {
	Addr string // 127.0.0.1:<port> to dial instead of the target

	l        net.Listener
	target   string
	up, down atomic.Int64 // client→server, server→client
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

// New starts a tap in front of target (host:port).
func New(target string) (*Tap, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &Tap{Addr: l.Addr().String(), l: l, target: target}
	t.wg.Add(1)
	go t.accept()
	return t, nil
}

func (t *Tap) accept() {
	defer t.wg.Done()
	for {
		c, err := t.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", t.target)
		if err != nil {
			c.Close()
			continue
		}
		t.mu.Lock()
		t.conns = append(t.conns, c, s)
		t.mu.Unlock()
		t.wg.Add(2)
		go t.pipe(s, c, &t.up)
		go t.pipe(c, s, &t.down)
	}
}

func (t *Tap) pipe(dst, src net.Conn, n *atomic.Int64) {
	defer t.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			n.Add(int64(k))
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else {
		dst.Close()
	}
}

// Up is the number of bytes forwarded from clients to the target so far.
func (t *Tap) Up() int64 { return t.up.Load() }

// Down is the number of bytes forwarded from the target to clients so far.
func (t *Tap) Down() int64 { return t.down.Load() }

// Close stops the tap and closes every connection through it.
func (t *Tap) Close() {
	t.l.Close()
	t.mu.Lock()
	for _, c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}
