package app

import (
	"context"
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
)

// A file sent on a channel this process does not run cannot be opened: the opener says so with
// EUNAVAILABLE, which the flows answer politely instead of failing the turn.
func TestFileOpener_channelNotRunning(t *testing.T) {
	for _, channel := range []string{"zalo", "telegram", "sms"} { // zalo and telegram without an adapter
		_, err := fileOpener{}.OpenFile(context.Background(), channel, "f1")
		if campaign.ErrorCode(err) != campaign.EUNAVAILABLE {
			t.Errorf("%s: err = %v, want EUNAVAILABLE", channel, err)
		}
	}
}
