package flows

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/chat"
	"github.com/thuduc/maytinhchoem/export"
	"github.com/thuduc/maytinhchoem/storage/postgres"
	"github.com/thuduc/maytinhchoem/storage/postgres/postgrestest"
)

// shownProgress records what a turn shows through Progress.
type shownProgress struct {
	mu    sync.Mutex
	texts []string
}

func (p *shownProgress) Show(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.texts = append(p.texts, text)
}

// A list of 2,000 rows shows its progress while it is read, every 500 rows with the count so far,
// then while it is stored and once it is done; none of it is among the turn's outputs. A list of
// 100 rows shows none.
func TestImportList_progress(t *testing.T) {
	db := postgrestest.NewDB(t)
	now := time.Date(2021, 9, 15, 2, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	camp := campaign.Default()
	ward := camp.Wards[0]
	files := bytesFiles{
		"long":  schoolList(t, camp, 2000, []string{"Trần Minh Khang", "05/09/2010", ward.Code}),
		"short": schoolList(t, camp, 100, []string{"Trần Minh Khang", "05/09/2010", ward.Code}),
	}
	c := newChatWith(t, func(cfg *Config) {
		cfg.Lists, cfg.ListReader, cfg.Files = postgres.NewListStore(db, camp), export.ListReader{Dir: t.TempDir()}, files
	})
	c.sess.ChatID, c.userID = testAdmin, testAdmin
	c.now = now
	handle := func(fileID string) ([]Output, []string) {
		t.Helper()
		p := &shownProgress{}
		in := Input{Kind: KindOther, UserID: testAdmin, ClientLanguage: "vi",
			Document: &chat.Document{Name: "danh-sach-" + fileID + ".xlsx", FileID: fileID}}
		_, out, err := c.e.Handle(WithProgress(context.Background(), p), c.sess, c.st, in)
		if err != nil {
			t.Fatal(err)
		}
		return out, p.texts
	}

	out, shown := handle("long")
	want := []string{
		"⏳ Đang đọc danh sách: đã đọc 500 dòng…",
		"⏳ Đang đọc danh sách: đã đọc 1000 dòng…",
		"⏳ Đang đọc danh sách: đã đọc 1500 dòng…",
		"⏳ Đang đọc danh sách: đã đọc 2000 dòng…",
		"⏳ Đã đọc 2000 dòng. Đang lưu…",
		"✅ Đã xử lý xong 2000 dòng.",
	}
	if fmt.Sprint(shown) != fmt.Sprint(want) {
		t.Errorf("progress shown:\n%s\nwant:\n%s", strings.Join(shown, "\n"), strings.Join(want, "\n"))
	}
	if text := allText(out); !strings.Contains(text, "đọc 2000 dòng") || !strings.Contains(text, "✅ Đã nhận: 1994") || strings.Contains(text, "⏳") {
		t.Errorf("report:\n%s", text)
	}

	out, shown = handle("short")
	if len(shown) != 0 {
		t.Errorf("a list of 100 rows showed progress: %q", shown)
	}
	if text := allText(out); !strings.Contains(text, "đọc 100 dòng") {
		t.Errorf("report:\n%s", text)
	}
}
