package health

// Watchers is the number of Watch streams registered with s.
func Watchers(s *HealthServicer) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ws := range s.watchers {
		n += len(ws)
	}
	return n
}

// MaxPending is maxPending, for the flow-control test.
const MaxPending = maxPending
