package postgres_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

func TestAuditLog(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	log := postgres.NewAuditLog(db)
	ctx := t.Context()

	at := campaignDay().Add(-time.Hour) // before the clock: entries come oldest first
	entries := []campaign.AuditEntry{
		{At: at, Actor: "telegram:42", Action: "registration.view", Subject: "TD-000007"},
		{Actor: "telegram:42", Action: "registration.verify", Subject: "TD-000007",
			Before: map[string]string{"status": "submitted"}, After: map[string]string{"status": "verified"}},
		{Actor: "system", Action: "summary.send", Subject: "daily"},
	}
	for _, e := range entries {
		if err := log.Audit(ctx, e); err != nil {
			t.Fatalf("Audit(%s): %v", e.Action, err)
		}
	}

	got, err := log.Entries(ctx, "TD-000007")
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2", len(got))
	}

	t.Run("given time kept", func(t *testing.T) {
		if !got[0].At.Equal(at) || got[0].Before != nil || got[0].After != nil {
			t.Errorf("entry %+v", got[0])
		}
	})

	t.Run("zero time from the clock", func(t *testing.T) {
		if !got[1].At.After(campaignDay()) || got[1].Action != "registration.verify" {
			t.Errorf("entry %+v", got[1])
		}
	})

	t.Run("before and after as JSON", func(t *testing.T) {
		for _, f := range []struct {
			name string
			v    any
			want string
		}{{"before", got[1].Before, "submitted"}, {"after", got[1].After, "verified"}} {
			raw, ok := f.v.(json.RawMessage)
			if !ok {
				t.Fatalf("%s is %T", f.name, f.v)
			}
			var m map[string]string
			if err := json.Unmarshal(raw, &m); err != nil || m["status"] != f.want {
				t.Errorf("%s = %s (%v), want status %s", f.name, raw, err, f.want)
			}
		}
	})

	t.Run("actor and action required", func(t *testing.T) {
		err := log.Audit(ctx, campaign.AuditEntry{Subject: "x"})
		if code := campaign.ErrorCode(err); code != campaign.EINVALID {
			t.Errorf("Audit: %v (code %q), want %q", err, code, campaign.EINVALID)
		}
	})
}
