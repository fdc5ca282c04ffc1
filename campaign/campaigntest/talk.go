package campaigntest

import (
	"context"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

var _ campaign.MessageStore = (*Cases)(nil)

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// MessageOfficials implements campaign.MessageStore as storage/postgres does: a message note, the
// registration marked as waiting (the first message's time kept), the notices to s.Verifiers.
func (s *Cases) MessageOfficials(_ context.Context, code string, parent campaign.Session, m campaign.Answer, key string, notify campaign.Notify[campaign.FamilyMessage]) (campaign.Registration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("MessageOfficials", key); err != nil {
		return campaign.Registration{}, err
	}
	code, m.Text = normCode(code), campaign.NormalizeText(m.Text)
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	r := s.reg(code)
	if r == nil || r.Channel != parent.Channel || r.ChatID != parent.ChatID || r.Status == campaign.StatusWithdrawn {
		return campaign.Registration{}, campaign.Errorf(campaign.ENOTFOUND, "no registration %s of this chat", code)
	}
	if s.keyApplied("message", key, code) {
		return *r, nil
	}
	actor := parent.Channel + ":" + parent.ChatID
	s.notes[code] = append(s.notes[code], campaign.Note{At: s.now(), Actor: actor, Answer: true, Message: true, Text: m.Text,
		PhotoID: m.PhotoID, PhotoChannel: m.PhotoChannel})
	if s.messageAt == nil {
		s.messageAt = map[string]time.Time{}
	}
	if s.messageAt[code].IsZero() {
		s.messageAt[code] = s.now()
	}
	s.applyKey("message", key, code)
	s.record(actor, "registration.message", code, nil, nil)
	queueNotices(s.Outbox, notify, campaign.FamilyMessage{Registration: *r, Message: m, Officials: s.Verifiers})
	return *r, nil
}

// MessageHandled implements campaign.MessageStore.
func (s *Cases) MessageHandled(_ context.Context, code string, by campaign.Staff) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("MessageHandled"); err != nil {
		return err
	}
	code = normCode(code)
	s.regs.mu.Lock()
	r := s.reg(code)
	s.regs.mu.Unlock()
	if r == nil {
		return campaign.Errorf(campaign.ENOTFOUND, "no registration %s", code)
	}
	if err := campaign.Authorize(by, campaign.ActionVerify, r.WardCode); err != nil {
		return err
	}
	if s.messageAt[code].IsZero() {
		return nil
	}
	delete(s.messageAt, code)
	s.record(staffActorOf(by), "registration.message_handled", code, nil, nil)
	return nil
}
