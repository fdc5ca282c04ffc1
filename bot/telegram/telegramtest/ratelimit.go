package telegramtest

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// floodControl holds Telegram's flood limits: one bucket for the bot, one per chat.
type floodControl struct {
	disabled     bool
	now          func() time.Time
	perChatRate  rate.Limit
	perChatBurst int

	mu     sync.Mutex
	global *rate.Limiter
	chats  map[int64]*rate.Limiter
}

func newFloodControl(l Limits) *floodControl {
	if l.GlobalPerSecond <= 0 {
		l.GlobalPerSecond = 30
	}
	if l.GlobalBurst <= 0 {
		l.GlobalBurst = 30
	}
	if l.PerChatPerSecond <= 0 {
		l.PerChatPerSecond = 1
	}
	if l.PerChatBurst <= 0 {
		l.PerChatBurst = 3
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return &floodControl{
		disabled:     l.Disabled,
		now:          l.Now,
		perChatRate:  rate.Limit(l.PerChatPerSecond),
		perChatBurst: l.PerChatBurst,
		global:       rate.NewLimiter(rate.Limit(l.GlobalPerSecond), l.GlobalBurst),
		chats:        map[int64]*rate.Limiter{},
	}
}

// take spends one token of the bot's bucket and one of the chat's. When either is empty it spends
// none and returns how many whole seconds to wait, at least 1, as Telegram's retry_after.
func (f *floodControl) take(chatID int64) (retryAfter int) {
	if f.disabled {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	chat := f.chats[chatID]
	if chat == nil {
		chat = rate.NewLimiter(f.perChatRate, f.perChatBurst)
		f.chats[chatID] = chat
	}
	rc := chat.ReserveN(now, 1)
	rg := f.global.ReserveN(now, 1)
	wait := max(rc.DelayFrom(now), rg.DelayFrom(now))
	if wait <= 0 {
		return 0
	}
	rc.CancelAt(now)
	rg.CancelAt(now)
	return max(1, int(math.Ceil(wait.Seconds())))
}
