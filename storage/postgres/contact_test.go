package postgres_test

import (
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/storage/postgres"
)

func TestContactStore(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	s := postgres.NewContactStore(db)
	ctx := t.Context()

	// Each step runs on the state the steps before it left.
	for _, step := range []struct {
		name string
		do   func() error
		want campaign.Contact
	}{
		{
			name: "new contact",
			do: func() error {
				return s.UpsertContact(ctx, campaign.Contact{Channel: "telegram", ExternalID: "1001", Name: "Trần Thị Bình", Language: "vi"})
			},
			want: campaign.Contact{Channel: "telegram", ExternalID: "1001", Name: "Trần Thị Bình", Language: "vi"},
		},
		{
			name: "role given",
			do: func() error {
				return s.UpsertContact(ctx, campaign.Contact{Channel: "telegram", ExternalID: "1001", Name: "Trần Thị Bình", Language: "vi", Role: "ward_official"})
			},
			want: campaign.Contact{Channel: "telegram", ExternalID: "1001", Name: "Trần Thị Bình", Language: "vi", Role: "ward_official"},
		},
		{
			name: "empty role keeps the role",
			do: func() error {
				return s.UpsertContact(ctx, campaign.Contact{Channel: "telegram", ExternalID: "1001", Name: "Bình Trần", Language: "en"})
			},
			want: campaign.Contact{Channel: "telegram", ExternalID: "1001", Name: "Bình Trần", Language: "en", Role: "ward_official"},
		},
		{
			name: "empty name and language keep theirs",
			do: func() error {
				return s.UpsertContact(ctx, campaign.Contact{Channel: "telegram", ExternalID: "1001"})
			},
			want: campaign.Contact{Channel: "telegram", ExternalID: "1001", Name: "Bình Trần", Language: "en", Role: "ward_official"},
		},
		{
			name: "stopped",
			do:   func() error { return s.SetContactStopped(ctx, "telegram", "1001", true) },
			want: campaign.Contact{Channel: "telegram", ExternalID: "1001", Name: "Bình Trần", Language: "en", Role: "ward_official", Stopped: true},
		},
		{
			name: "unstopped",
			do:   func() error { return s.SetContactStopped(ctx, "telegram", "1001", false) },
			want: campaign.Contact{Channel: "telegram", ExternalID: "1001", Name: "Bình Trần", Language: "en", Role: "ward_official"},
		},
		{
			name: "stopped before any message",
			do:   func() error { return s.SetContactStopped(ctx, "zalo", "1001", true) },
			want: campaign.Contact{Channel: "zalo", ExternalID: "1001", Stopped: true},
		},
		{
			name: "a new message after a block",
			do: func() error {
				return s.UpsertContact(ctx, campaign.Contact{Channel: "zalo", ExternalID: "1001", Name: "Lê Văn Dũng"})
			},
			want: campaign.Contact{Channel: "zalo", ExternalID: "1001", Name: "Lê Văn Dũng"},
		},
	} {
		t.Run(step.name, func(t *testing.T) {
			if err := step.do(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			got, err := s.Contact(ctx, step.want.Channel, step.want.ExternalID)
			if err != nil {
				t.Fatalf("Contact: %v", err)
			}
			if got != step.want {
				t.Errorf("Contact = %+v, want %+v", got, step.want)
			}
		})
	}

	t.Run("one row per chat", func(t *testing.T) {
		if n := countRows(t, db, "contacts"); n != 2 {
			t.Errorf("%d contacts, want 2", n)
		}
	})

	t.Run("unknown contact", func(t *testing.T) {
		_, err := s.Contact(ctx, "telegram", "9999")
		if code := campaign.ErrorCode(err); code != campaign.ENOTFOUND {
			t.Errorf("Contact: %v (code %q), want %q", err, code, campaign.ENOTFOUND)
		}
	})

	t.Run("no channel", func(t *testing.T) {
		err := s.UpsertContact(ctx, campaign.Contact{ExternalID: "1"})
		if code := campaign.ErrorCode(err); code != campaign.EINVALID {
			t.Errorf("UpsertContact: %v (code %q), want %q", err, code, campaign.EINVALID)
		}
		err = s.SetContactStopped(ctx, "telegram", " ", true)
		if code := campaign.ErrorCode(err); code != campaign.EINVALID {
			t.Errorf("SetContactStopped: %v (code %q), want %q", err, code, campaign.EINVALID)
		}
	})
}
