package campaigntest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Subscriptions is an in-memory campaign.SubscriptionStore. Subscribers lists the subscribers
// in the order they came.
type Subscriptions struct {
	mu   sync.Mutex
	now  func() time.Time
	subs []campaign.Subscriber
	// Err, when set, is returned by every method (Subscribe and Unsubscribe then do nothing).
	Err error
	// changes counts Subscribe and Unsubscribe calls, lists Subscribers calls.
	changes, lists int
}

var _ campaign.SubscriptionStore = (*Subscriptions)(nil)

// NewSubscriptions returns a store holding subs, whose clock is now (nil when nobody will
// subscribe).
func NewSubscriptions(now func() time.Time, subs ...campaign.Subscriber) *Subscriptions {
	return &Subscriptions{now: now, subs: slices.Clone(subs)}
}

// index is where channel:id is in subs, or -1; s.mu is held.
func (s *Subscriptions) index(channel, id string) int {
	return slices.IndexFunc(s.subs, func(v campaign.Subscriber) bool { return v.Channel == channel && v.ExternalID == id })
}

// Subscribe implements campaign.SubscriptionStore.
func (s *Subscriptions) Subscribe(_ context.Context, who campaign.Staff) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes++
	if s.Err != nil {
		return false, s.Err
	}
	if s.index(who.Channel, who.ExternalID) >= 0 {
		return false, nil
	}
	s.subs = append(s.subs, campaign.Subscriber{Staff: who, Since: s.now()})
	return true, nil
}

// Unsubscribe implements campaign.SubscriptionStore.
func (s *Subscriptions) Unsubscribe(_ context.Context, channel, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes++
	if s.Err != nil {
		return false, s.Err
	}
	i := s.index(channel, id)
	if i < 0 {
		return false, nil
	}
	s.subs = slices.Delete(s.subs, i, i+1)
	return true, nil
}

// Subscribed implements campaign.SubscriptionStore.
func (s *Subscriptions) Subscribed(_ context.Context, channel, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index(channel, id) >= 0, s.Err
}

// Subscribers implements campaign.SubscriptionStore.
func (s *Subscriptions) Subscribers(context.Context) ([]campaign.Subscriber, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	return slices.Clone(s.subs), s.Err
}

// Subscriber returns Telegram user id's subscription, if there is one.
func (s *Subscriptions) Subscriber(id string) (campaign.Subscriber, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.index("telegram", id); i >= 0 {
		return s.subs[i], true
	}
	return campaign.Subscriber{}, false
}

// Changes counts the Subscribe and Unsubscribe calls.
func (s *Subscriptions) Changes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changes
}

// Lists counts the Subscribers calls.
func (s *Subscriptions) Lists() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lists
}

// Broadcasts is an in-memory campaign.BroadcastStore. An audience has the size SetAudience gave
// it; CreateBroadcast queues that many messages, all still queued until Advance moves them on,
// or, with Queue set, as many as Queue holds in the broadcast's batch.
type Broadcasts struct {
	mu    sync.Mutex
	now   func() time.Time
	sizes map[string]int // by audienceKey
	list  []campaign.BroadcastProgress
	keys  map[string]int // idempotency key → index in list
	// creates counts CreateBroadcast calls, keysSeen the keys they carried; looks counts
	// BroadcastProgress calls.
	creates, looks int
	keysSeen       []string
	// CountErr, CreateErr and ProgressErr, when set, are returned instead of doing the work.
	CountErr, CreateErr, ProgressErr error
	// Queue, when set, is the outbox BroadcastProgress counts a broadcast's messages in.
	Queue campaign.Outbox
}

var _ campaign.BroadcastStore = (*Broadcasts)(nil)

// NewBroadcasts returns a store with no broadcasts, whose clock is now, and audiences of 1,250
// parents, 1 donor, 48 staff and 85 in ward 26800 (Linh Trung).
func NewBroadcasts(now func() time.Time) *Broadcasts {
	return &Broadcasts{now: now, keys: map[string]int{}, sizes: map[string]int{
		string(campaign.AudienceParents): 1250, string(campaign.AudienceDonors): 1, string(campaign.AudienceStaff): 48,
		"ward:26800": 85,
	}}
}

func audienceKey(a campaign.Audience) string {
	if a.Kind == campaign.AudienceWard {
		return "ward:" + a.WardCode
	}
	return string(a.Kind)
}

// CountAudience implements campaign.BroadcastStore.
func (s *Broadcasts) CountAudience(_ context.Context, a campaign.Audience) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.CountErr != nil {
		return 0, s.CountErr
	}
	return s.sizes[audienceKey(a)], nil
}

// CreateBroadcast implements campaign.BroadcastStore.
func (s *Broadcasts) CreateBroadcast(_ context.Context, b *campaign.Broadcast, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	s.keysSeen = append(s.keysSeen, key)
	if s.CreateErr != nil {
		return false, s.CreateErr
	}
	if key == "" {
		return false, campaign.Errorf(campaign.EINVALID, "no idempotency key")
	}
	if i, ok := s.keys[key]; ok {
		*b = s.list[i].Broadcast
		return false, nil
	}
	b.ID = int64(len(s.list) + 1)
	b.Code = fmt.Sprintf("%s-%06d", campaign.BroadcastPrefix, b.ID)
	b.Recipients = s.sizes[audienceKey(b.Audience)]
	b.CreatedAt = s.now()
	s.keys[key] = len(s.list)
	s.list = append(s.list, campaign.BroadcastProgress{Broadcast: *b, Queued: b.Recipients})
	return true, nil
}

// BroadcastProgress implements campaign.BroadcastStore.
func (s *Broadcasts) BroadcastProgress(ctx context.Context, code string) (campaign.BroadcastProgress, error) {
	s.mu.Lock()
	s.looks++
	err := s.ProgressErr
	i := slices.IndexFunc(s.list, func(p campaign.BroadcastProgress) bool { return p.Code == code })
	var p campaign.BroadcastProgress
	if i >= 0 {
		p = s.list[i]
	}
	s.mu.Unlock()
	if err != nil {
		return campaign.BroadcastProgress{}, err
	}
	if i < 0 {
		return campaign.BroadcastProgress{}, campaign.Errorf(campaign.ENOTFOUND, "no broadcast %s", code)
	}
	if s.Queue == nil {
		return p, nil
	}
	q, sent, failed, stopped, err := s.Queue.BatchProgress(ctx, p.Batch())
	if err != nil {
		return campaign.BroadcastProgress{}, err
	}
	return campaign.BroadcastProgress{Broadcast: p.Broadcast, Queued: q, Sent: sent, Failed: failed, Stopped: stopped}, nil
}

// Add stores b as it is, its messages all queued.
func (s *Broadcasts) Add(b campaign.Broadcast) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, campaign.BroadcastProgress{Broadcast: b, Queued: b.Recipients})
}

// SetAudience makes a's size n.
func (s *Broadcasts) SetAudience(a campaign.Audience, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sizes[audienceKey(a)] = n
}

// AudienceSize returns a's size.
func (s *Broadcasts) AudienceSize(a campaign.Audience) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sizes[audienceKey(a)]
}

// Advance moves a broadcast's messages out of the queue: sent, failed and stopped.
func (s *Broadcasts) Advance(code string, sent, failed, stopped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.list {
		if p := &s.list[i]; p.Code == code {
			p.Sent, p.Failed, p.Stopped = sent, failed, stopped
			p.Queued = p.Recipients - sent - failed - stopped
		}
	}
}

// Created returns the broadcasts stored, in order.
func (s *Broadcasts) Created() []campaign.BroadcastProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// Creates counts the CreateBroadcast calls.
func (s *Broadcasts) Creates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates
}

// KeysSeen lists the idempotency keys CreateBroadcast was given, in order.
func (s *Broadcasts) KeysSeen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keysSeen)
}

// Looks counts the BroadcastProgress calls.
func (s *Broadcasts) Looks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.looks
}

// Reminders is a campaign.ReminderStore answering from fixed lists.
type Reminders struct {
	// Pledges are the pledges awaiting their devices; PledgesAwaiting gives those made before
	// the time asked.
	Pledges []campaign.PledgeAwaiting
	// Pending counts the registrations waiting for verification, by ward.
	Pending map[string]int
	// Staff are the active staff.
	Staff []campaign.Subscriber
	// Days are the deliveries by day, by ward; DeliveriesByDay gives those until the day asked.
	Days map[string][]campaign.DayCount
	// Err, when set, is returned with every answer.
	Err error
}

var _ campaign.ReminderStore = (*Reminders)(nil)

// PledgesAwaiting implements campaign.ReminderStore.
func (f *Reminders) PledgesAwaiting(_ context.Context, before time.Time) ([]campaign.PledgeAwaiting, error) {
	var out []campaign.PledgeAwaiting
	for _, p := range f.Pledges {
		if p.CreatedAt.Before(before) {
			out = append(out, p)
		}
	}
	return out, f.Err
}

// PendingVerifications implements campaign.ReminderStore.
func (f *Reminders) PendingVerifications(context.Context) (map[string]int, error) {
	return f.Pending, f.Err
}

// DeliveriesByDay implements campaign.ReminderStore.
func (f *Reminders) DeliveriesByDay(_ context.Context, ward string, until time.Time) ([]campaign.DayCount, error) {
	var out []campaign.DayCount
	for _, d := range f.Days[ward] {
		if !d.Date.After(until) {
			out = append(out, d)
		}
	}
	return out, f.Err
}

// ActiveStaff implements campaign.ReminderStore.
func (f *Reminders) ActiveStaff(context.Context) ([]campaign.Subscriber, error) {
	return slices.Clone(f.Staff), f.Err
}
