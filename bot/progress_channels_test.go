package bot_test

import (
	"testing"

	"github.com/thuduc/maytinhchoem/bot"
	"github.com/thuduc/maytinhchoem/bot/telegram"
	"github.com/thuduc/maytinhchoem/bot/zalo"
)

// Telegram edits messages, so a long step's progress shows there; Zalo cannot (its Capabilities
// say so), so nothing extra is sent there. A paced Router gives each channel its due.
func TestProgressEditorsOfTheChannels(t *testing.T) {
	if (&zalo.Adapter{}).Capabilities().Edits {
		t.Fatal("zalo says it edits messages")
	}
	for _, tc := range []struct {
		name   string
		sender bot.Sender
		edits  bool
	}{
		{telegram.Channel, &telegram.Adapter{}, true},
		{zalo.Channel, &zalo.Adapter{}, false},
	} {
		if _, ok := tc.sender.(bot.ProgressEditor); ok != tc.edits {
			t.Errorf("%s: a ProgressEditor: %v, want %v", tc.name, ok, tc.edits)
		}
		r := bot.NewRouter()
		r.Add(tc.name, bot.NewPacedSender(tc.sender, bot.PacedSenderConfig{}))
		if got := r.ProgressEditor(tc.name) != nil; got != tc.edits {
			t.Errorf("%s: the router's editor: %v, want %v", tc.name, got, tc.edits)
		}
	}
}
