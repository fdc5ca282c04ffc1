package redis_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/storage/redis"
)

func TestStore_EraseDialog(t *testing.T) {
	ctx := t.Context()
	s, client, prefix := newStore(t)
	form := []byte(`{"flow":"registration","answers":{"student_name":"Nguyễn Văn An","parent_phone":"+84903123456"}}`)
	for v := int64(0); v < 2; v++ {
		if ok, err := s.Save(ctx, "telegram", "1001", v, form, ""); err != nil || !ok {
			t.Fatalf("Save v%d = %v, %v", v, ok, err)
		}
	}
	if ok, err := s.Save(ctx, "telegram", "1002", 0, []byte(`{"answers":{"student_name":"Lê Thị Hoa"}}`), ""); err != nil || !ok {
		t.Fatal(ok, err)
	}

	held, err := s.EraseDialog(ctx, "telegram", "1001")
	if err != nil || !held {
		t.Fatalf("EraseDialog = %v, %v; want it held a form", held, err)
	}
	data, version, _, err := s.Load(ctx, "telegram", "1001", "")
	if err != nil || data != nil || version != 3 {
		t.Errorf("after erasure Load = %q, v%d, %v; want nothing, the version moved on to 3", data, version, err)
	}
	raw := client.HGetAll(ctx, prefix+"dlg:telegram:1001").Val()
	if strings.Contains(raw["d"], "Nguyễn") || raw["d"] != "" {
		t.Errorf("stored after erasure: %q", raw)
	}
	if ttl := client.PTTL(ctx, prefix+"dlg:telegram:1001").Val(); ttl <= 59*time.Minute || ttl > redis.ErasedDialogTTL {
		t.Errorf("PTTL = %v, want the erased key gone within %v", ttl, redis.ErasedDialogTTL)
	}

	// A worker that loaded the form before the erasure cannot write it back.
	if ok, err := s.Save(ctx, "telegram", "1001", 2, form, "late"); err != nil || ok {
		t.Errorf("stale Save = %v, %v; want refused", ok, err)
	}
	// The person starting again is saved as usual, with the full TTL.
	if ok, err := s.Save(ctx, "telegram", "1001", 3, []byte(`{"flow":"start"}`), ""); err != nil || !ok {
		t.Errorf("Save after erasure = %v, %v", ok, err)
	}
	if ttl := client.PTTL(ctx, prefix+"dlg:telegram:1001").Val(); ttl <= redis.ErasedDialogTTL {
		t.Errorf("PTTL after a new save = %v, want the dialog's TTL back", ttl)
	}

	if data, _, _, _ := s.Load(ctx, "telegram", "1002", ""); !strings.Contains(string(data), "Lê Thị Hoa") {
		t.Errorf("another chat's dialog = %q", data)
	}
	if held, err := s.EraseDialog(ctx, "telegram", "nobody"); err != nil || held {
		t.Errorf("EraseDialog of no dialog = %v, %v", held, err)
	}
	if n := client.Exists(ctx, prefix+"dlg:telegram:nobody").Val(); n != 0 {
		t.Error("erasing no dialog made one")
	}
	if _, err := s.EraseDialog(ctx, "telegram", "1001"); err != nil {
		t.Fatal(err)
	}
	if held, err := s.EraseDialog(ctx, "telegram", "1001"); err != nil || held {
		t.Errorf("EraseDialog of an emptied dialog = %v, %v", held, err)
	}
	for _, bad := range [][2]string{{"", "1"}, {"tele:gram", "1"}, {"telegram", ""}} {
		if _, err := s.EraseDialog(ctx, bad[0], bad[1]); !errors.Is(err, redis.ErrInvalidKey) {
			t.Errorf("EraseDialog(%q, %q) = %v, want ErrInvalidKey", bad[0], bad[1], err)
		}
	}
}

// A form nobody finished leaves Redis a day after the bot's idle expiry, not weeks later.
func TestDialogTTLFor(t *testing.T) {
	if got := redis.DialogTTLFor(168 * time.Hour); got != 192*time.Hour {
		t.Errorf("DialogTTLFor(168h) = %v", got)
	}
	if got := redis.DialogTTLFor(0); got != redis.DefaultDialogTTL || redis.DefaultDialogTTL != 8*24*time.Hour {
		t.Errorf("DialogTTLFor(0) = %v, want DefaultDialogTTL, 8 days", got)
	}
	ctx := t.Context()
	_, client, prefix := newStore(t)
	s := redis.New(client, redis.Options{Prefix: prefix, DialogTTL: redis.DialogTTLFor(2 * time.Hour)})
	if ok, err := s.Save(ctx, "zalo", "7", 0, []byte(`{"flow":"pledge"}`), ""); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ttl := client.PTTL(ctx, prefix+"dlg:zalo:7").Val(); ttl <= 26*time.Hour-time.Minute || ttl > 26*time.Hour {
		t.Errorf("PTTL = %v, want the idle expiry and a day", ttl)
	}
}

func TestChannelState_ForgetChat(t *testing.T) {
	ctx := t.Context()
	s, client, prefix := newChannelState(t)
	for _, chat := range []string{"c1", "c2"} {
		if err := s.SetMenu(ctx, chat, []byte(`["TD-000001 Nguyễn Văn An"]`), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.TakeMenu(ctx, "c1", "e1"); err != nil { // remembered for e1's redeliveries
		t.Fatal(err)
	}
	if err := s.SetMenu(ctx, "c1", []byte(`["Có","Không"]`), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetChat(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if n := client.Exists(ctx, prefix+"menu:c1", prefix+"menutakers:c1").Val(); n != 0 {
		t.Errorf("%d keys of c1 left", n)
	}
	if got, err := s.TakeMenu(ctx, "c2", "e2"); err != nil || got == nil {
		t.Errorf("c2's menu = %q, %v; want it kept", got, err)
	}
	if err := s.ForgetChat(ctx, ""); !errors.Is(err, redis.ErrInvalidKey) {
		t.Errorf("ForgetChat(\"\") = %v", err)
	}
}
