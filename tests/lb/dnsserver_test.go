package lb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

// dnsServer is a tiny authoritative DNS server on a 127.0.0.1 UDP port,
// for dns://127.0.0.1:<port>/<name>:<port> targets: the core's c-ares
// resolver sends its queries to the server the target's authority names.
// It answers A queries from a table the test can change, AAAA queries
// with no records, TXT queries (the core's _grpc_config.<name> service
// config lookup) from a second table, and anything else with NXDOMAIN.
// It logs every query.
type dnsServer struct {
	conn *net.UDPConn
	addr string // 127.0.0.1:<port>
	done chan struct{}

	mu      sync.Mutex
	a       map[string][]net.IP // by lower-case name, without the final dot
	txt     map[string][]string
	queries []string // "A lb.test", "TXT _grpc_config.lb.test", ...
}

const (
	dnsTypeA    = 1
	dnsTypeTXT  = 16
	dnsTypeAAAA = 28
)

func startDNS(t testing.TB) *dnsServer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	d := &dnsServer{conn: conn, addr: conn.LocalAddr().String(), done: make(chan struct{}),
		a: map[string][]net.IP{}, txt: map[string][]string{}}
	go d.serve()
	t.Cleanup(func() {
		conn.Close()
		<-d.done
	})
	return d
}

// setA makes name resolve to ips (none: the name has no A records).
func (d *dnsServer) setA(name string, ips ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var list []net.IP
	for _, ip := range ips {
		list = append(list, net.ParseIP(ip).To4())
	}
	d.a[strings.ToLower(name)] = list
}

// setTXT gives name TXT records (one character-string each).
func (d *dnsServer) setTXT(name string, records ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.txt[strings.ToLower(name)] = records
}

// queryLog returns the queries so far.
func (d *dnsServer) queryLog() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.queries...)
}

// countQueries counts the logged queries equal to q ("A lb.test").
func (d *dnsServer) countQueries(q string) int {
	n := 0
	for _, l := range d.queryLog() {
		if l == q {
			n++
		}
	}
	return n
}

func (d *dnsServer) serve() {
	defer close(d.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		if resp, err := d.answer(buf[:n]); err == nil {
			d.conn.WriteToUDP(resp, from)
		}
	}
}

// answer builds the response to one query message (RFC 1035 4.1).
func (d *dnsServer) answer(q []byte) ([]byte, error) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil, errors.New("not a one-question query")
	}
	// The question: labels up to the root label, then QTYPE and QCLASS.
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return nil, errors.New("truncated name")
		}
		l := int(q[i])
		if l == 0 {
			i++
			break
		}
		if l > 63 || i+1+l > len(q) {
			return nil, errors.New("bad label")
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+4 > len(q) {
		return nil, errors.New("truncated question")
	}
	qtype := binary.BigEndian.Uint16(q[i : i+2])
	qend := i + 4
	name := strings.ToLower(strings.Join(labels, "."))

	var rdata [][]byte
	rcode := 0
	d.mu.Lock()
	kind := fmt.Sprint(qtype)
	switch qtype {
	case dnsTypeA:
		kind = "A"
		ips, ok := d.a[name]
		if !ok {
			rcode = 3 // NXDOMAIN
		}
		for _, ip := range ips {
			rdata = append(rdata, ip)
		}
	case dnsTypeAAAA:
		kind = "AAAA"
		if _, ok := d.a[name]; !ok {
			rcode = 3
		}
	case dnsTypeTXT:
		kind = "TXT"
		records, ok := d.txt[name]
		if !ok {
			rcode = 3
		}
		for _, r := range records {
			var rd []byte
			for len(r) > 0 { // character-strings of at most 255 bytes
				chunk := r[:min(len(r), 255)]
				rd = append(append(rd, byte(len(chunk))), chunk...)
				r = r[len(chunk):]
			}
			rdata = append(rdata, rd)
		}
	default:
		rcode = 3
	}
	d.queries = append(d.queries, kind+" "+name)
	d.mu.Unlock()

	resp := make([]byte, 12, 512)
	copy(resp[0:2], q[0:2])                                                       // ID
	binary.BigEndian.PutUint16(resp[2:4], 0x8400|uint16(q[2]&1)<<8|uint16(rcode)) // QR AA, RD echoed
	binary.BigEndian.PutUint16(resp[4:6], 1)
	binary.BigEndian.PutUint16(resp[6:8], uint16(len(rdata)))
	resp = append(resp, q[12:qend]...)
	for _, rd := range rdata {
		resp = append(resp, 0xC0, 12) // the question's name
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1) // IN
		resp = binary.BigEndian.AppendUint32(resp, 1) // TTL 1 s
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rd)))
		resp = append(resp, rd...)
	}
	return resp, nil
}
