package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts what the Dispatcher and Sender do, for /metrics.
type Metrics struct {
	updates  *prometheus.CounterVec
	duration prometheus.Histogram
	sends    *prometheus.CounterVec
}

// NewMetrics registers the bot's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maytinhchoem_updates_total", Help: "Updates handled, by result.",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "maytinhchoem_update_seconds", Help: "Time to handle one update, replies included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "maytinhchoem_sends_total", Help: "Messages sent, by result.",
		}, []string{"result"}),
	}
	reg.MustRegister(m.updates, m.duration, m.sends)
	return m
}

func (m *Metrics) observe(result string, d time.Duration) {
	if m == nil {
		return
	}
	m.updates.WithLabelValues(result).Inc()
	m.duration.Observe(d.Seconds())
}

func (m *Metrics) sent(result string) {
	if m == nil {
		return
	}
	m.sends.WithLabelValues(result).Inc()
}
