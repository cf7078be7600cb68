package shapes

import (
	"errors"
	"fmt"
	"math"
)

// ErrNegative is returned for negative dimensions.
var ErrNegative = errors.New("negative dimension")

const Epsilon = 1e-9

// Shape is anything with an area.
type Shape interface {
	Area() float64
	Name() string
}

type Rect struct {
	W, H float64
}

// Area returns the rectangle's area.
func (r Rect) Area() float64 {
	return r.W * r.H
}

func (r *Rect) Scale(f float64) error {
	if f < 0 {
		return ErrNegative
	}
	r.W *= f
	r.H *= f
	return nil
}

func (r Rect) Name() string { return "rect" }

type Circle struct {
	R float64
}

func (c Circle) Area() float64 {
	return math.Pi * c.R * c.R
}

func (c Circle) Name() string {
	return "circle ⭕"
}

func TotalArea(shapes ...Shape) float64 {
	total := 0.0
	for _, s := range shapes {
		total += s.Area()
	}
	return total
}

func Describe(s Shape) string {
	return fmt.Sprintf("%s: %.2f (面积)", s.Name(), s.Area())
}
