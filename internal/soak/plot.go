package soak

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Plot geometry (pixels).
const (
	plotW, plotH     = 900, 420
	marginL, marginR = 80, 30
	marginT, marginB = 40, 50
	plotTicks        = 5
)

var (
	colBG    = color.RGBA{255, 255, 255, 255}
	colAxis  = color.RGBA{40, 40, 40, 255}
	colGrid  = color.RGBA{225, 225, 225, 255}
	colLine  = color.RGBA{31, 119, 180, 255}
	colWarm  = color.RGBA{214, 39, 40, 255}
	colLabel = color.RGBA{20, 20, 20, 255}
)

// PlotRSS draws resident memory (MiB) against elapsed seconds, with a
// vertical mark where warm-up ended, and writes it as PNG.
func PlotRSS(w io.Writer, samples []Sample, warmupCalls int64, title string) error {
	img := image.NewRGBA(image.Rect(0, 0, plotW, plotH))
	draw.Draw(img, img.Bounds(), &image.Uniform{colBG}, image.Point{}, draw.Src)
	x0, y0, x1, y1 := marginL, plotH-marginB, plotW-marginR, marginT

	var maxT, maxM float64
	for _, s := range samples {
		maxT = math.Max(maxT, s.Elapsed.Seconds())
		maxM = math.Max(maxM, mib(s.RSSBytes))
	}
	maxT = niceCeil(math.Max(maxT, 1))
	maxM = niceCeil(math.Max(maxM*1.1, 1))
	px := func(t float64) int { return x0 + int(t/maxT*float64(x1-x0)+0.5) }
	py := func(m float64) int { return y0 - int(m/maxM*float64(y0-y1)+0.5) }

	for i := 0; i <= plotTicks; i++ {
		t := maxT * float64(i) / plotTicks
		m := maxM * float64(i) / plotTicks
		vline(img, px(t), y1, y0, colGrid)
		hline(img, x0, x1, py(m), colGrid)
		label(img, px(t)-12, y0+18, fmt.Sprintf("%.0f", t))
		label(img, x0-50, py(m)+4, fmt.Sprintf("%.0f", m))
	}
	hline(img, x0, x1, y0, colAxis)
	vline(img, x0, y1, y0, colAxis)
	label(img, (x0+x1)/2-60, plotH-12, "elapsed time (s)")
	label(img, 8, y1-14, "RSS (MiB)")
	label(img, x0, 20, title)

	for i, s := range samples {
		if i > 0 && samples[i-1].Calls < warmupCalls && s.Calls >= warmupCalls {
			vline(img, px(s.Elapsed.Seconds()), y1, y0, colWarm)
			label(img, px(s.Elapsed.Seconds())+4, y1+12, "warm-up end")
		}
		if i > 0 {
			p := samples[i-1]
			line(img, px(p.Elapsed.Seconds()), py(mib(p.RSSBytes)), px(s.Elapsed.Seconds()), py(mib(s.RSSBytes)), colLine)
		}
		dot(img, px(s.Elapsed.Seconds()), py(mib(s.RSSBytes)), colLine)
	}
	return png.Encode(w, img)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func hline(img *image.RGBA, xa, xb, y int, c color.Color) {
	for x := xa; x <= xb; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, ya, yb int, c color.Color) {
	for y := ya; y <= yb; y++ {
		img.Set(x, y, c)
	}
}

func dot(img *image.RGBA, x, y int, c color.Color) {
	for dx := -2; dx <= 2; dx++ {
		for dy := -2; dy <= 2; dy++ {
			img.Set(x+dx, y+dy, c)
		}
	}
}

// line draws a 2-pixel-wide segment (Bresenham).
func line(img *image.RGBA, xa, ya, xb, yb int, c color.Color) {
	dx, dy := abs(xb-xa), -abs(yb-ya)
	sx, sy := sign(xb-xa), sign(yb-ya)
	e := dx + dy
	for {
		img.Set(xa, ya, c)
		img.Set(xa, ya+1, c)
		if xa == xb && ya == yb {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			xa += sx
		}
		if e2 <= dx {
			e += dx
			ya += sy
		}
	}
}

func label(img *image.RGBA, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(colLabel), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}
