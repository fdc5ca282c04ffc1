package redis_test

import (
	"strconv"
	"sync/atomic"
	"testing"
)

// benchDialog is about the size of a registration form half filled in.
var benchDialog = []byte(`{"flow":"registration","step":"ward","lang":"vi","fields":{"parent_name":"Nguyễn Thị Lan","phone":"+84901234567","child_name":"Trần Minh Khoa","grade":"7","school":"THCS Linh Trung"},"updated":"2021-09-12T08:15:00+07:00","key":"4f1c2a9e"}`)

// BenchmarkLoadSave measures handling one update's state: Load with the
// de-duplication check, then Save with compare-and-set, on real Redis.
func BenchmarkLoadSave(b *testing.B) {
	ctx := b.Context()
	s, _, _ := newStore(b)
	if err := s.LoadScripts(ctx); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		update := strconv.Itoa(i)
		_, v, seen, err := s.Load(ctx, "tg", "42", update)
		if err != nil || seen {
			b.Fatalf("Load: seen=%v err=%v", seen, err)
		}
		saved, err := s.Save(ctx, "tg", "42", v, benchDialog, update)
		if err != nil || !saved {
			b.Fatalf("Save: saved=%v err=%v", saved, err)
		}
	}
}

// BenchmarkLoadSaveParallel is BenchmarkLoadSave with many chats at once, as
// under a broadcast reply storm; ns/op is wall time per update handled.
func BenchmarkLoadSaveParallel(b *testing.B) {
	ctx := b.Context()
	s, _, _ := newStore(b)
	if err := s.LoadScripts(ctx); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		chat := strconv.FormatInt(next.Add(1), 10)
		for pb.Next() {
			update := chat + "-" + strconv.FormatInt(next.Add(1), 10)
			_, v, _, err := s.Load(ctx, "tg", chat, update)
			if err != nil {
				b.Error(err)
				return
			}
			if saved, err := s.Save(ctx, "tg", chat, v, benchDialog, update); err != nil || !saved {
				b.Errorf("Save: saved=%v err=%v", saved, err)
				return
			}
		}
	})
}
