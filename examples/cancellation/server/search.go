package main

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"iter"
	"strings"

	pb "github.com/grpcpy/grpcpy/examples/cancellation/hash_name"
)

// byteMax is the original's _BYTE_MAX: digits run over range(255), so
// the byte 0xff never appears in a secret (kept as the original has it).
const byteMax = 255

// ResourceLimitExceededError says the search computed its maximum number
// of hashes (search.ResourceLimitExceededError).
type ResourceLimitExceededError struct{}

func (ResourceLimitExceededError) Error() string { return "resource limit exceeded" }

// hammingDistance counts the positions where two equally long strings differ.
func hammingDistance(a, b []rune) int {
	distance := 0
	for i := range a {
		if a[i] != b[i] {
			distance++
		}
	}
	return distance
}

// substringHammingDistance is the smallest Hamming distance between
// target and a substring of candidate, ignoring case.
func substringHammingDistance(candidate, target string) (int, error) {
	c, t := []rune(strings.ToLower(candidate)), []rune(strings.ToLower(target))
	if len(t) > len(c) {
		return 0, errors.New("Candidate must be at least as long as target.")
	}
	minDistance := -1
	for i := 0; i+len(t) <= len(c); i++ {
		if d := hammingDistance(c[i:i+len(t)], t); minDistance < 0 || d < minDistance {
			minDistance = d
		}
	}
	return minDistance, nil
}

func hashOf(secret []byte) string {
	digest := sha1.Sum(secret)
	return base64.StdEncoding.EncodeToString(digest[:])
}

// allBytestrings yields every bytestring, shortest first and, for one
// length, in the order of itertools.product (the last byte moves fastest).
// It never ends.
func allBytestrings() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for length := 0; ; length++ {
			digits := make([]byte, length)
			for {
				if !yield(digits) {
					return
				}
				i := length - 1
				for ; i >= 0 && digits[i] == byteMax-1; i-- {
					digits[i] = 0
				}
				if i < 0 {
					break // every bytestring of this length was yielded
				}
				digits[i]++
			}
		}
	}
}

// search walks all bytestrings until one whose hash is within
// idealDistance of target, as the original's search.search generator
// does. Candidates within interestingDistance (when not nil) are yielded
// without ending the search. It stops quietly once stop is closed, and
// ends with a ResourceLimitExceededError after maximumHashes hashes.
func search(target string, idealDistance int32, stop <-chan struct{}, maximumHashes int,
	interestingDistance *int32) iter.Seq2[*pb.HashNameResponse, error] {
	return func(yield func(*pb.HashNameResponse, error) bool) {
		hashesComputed := 0
		for secret := range allBytestrings() {
			select {
			case <-stop:
				return
			default:
			}
			candidateHash := hashOf(secret)
			distance, err := substringHammingDistance(candidateHash, target)
			if err != nil {
				yield(nil, err)
				return
			}
			candidate := &pb.HashNameResponse{
				Secret:          base64.StdEncoding.EncodeToString(secret),
				HashedName:      candidateHash,
				HammingDistance: int32(distance),
			}
			if interestingDistance != nil && int32(distance) <= *interestingDistance {
				// Interesting: surface it and go on.
				if !yield(candidate, nil) {
					return
				}
			} else if int32(distance) <= idealDistance {
				// Ideal: the last answer.
				yield(candidate, nil)
				return
			}
			hashesComputed++
			if hashesComputed == maximumHashes {
				yield(nil, ResourceLimitExceededError{})
				return
			}
		}
	}
}
