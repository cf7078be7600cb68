package stack

import (
	"errors"
	"strconv"
	"strings"
)

// ErrEmpty is returned when popping an empty stack.
var ErrEmpty = errors.New("stack: empty")

// Stack is a LIFO stack of ints.
type Stack struct {
	items []int
}

func NewStack(capacity int) *Stack {
	return &Stack{items: make([]int, 0, capacity)}
}

// Push adds v to the top of the stack.
func (s *Stack) Push(v int) {
	s.items = append(s.items, v)
}

func (s *Stack) Pop() (int, error) {
	if len(s.items) == 0 {
		return 0, ErrEmpty
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, nil
}

func ParseInts(line string) ([]int, error) {
	var out []int
	for _, field := range strings.Split(line, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		n, err := strconv.Atoi(field)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
