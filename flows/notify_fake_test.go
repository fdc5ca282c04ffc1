package flows

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// fakeSubscriptions is an in-memory campaign.SubscriptionStore.
type fakeSubscriptions struct {
	mu   sync.Mutex
	now  func() time.Time
	subs map[string]campaign.Subscriber // by "channel:id"
	err  error
	// calls counts Subscribe and Unsubscribe calls.
	calls int
}

func (s *fakeSubscriptions) Subscribe(_ context.Context, who campaign.Staff) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return false, s.err
	}
	k := who.Channel + ":" + who.ExternalID
	if _, ok := s.subs[k]; ok {
		return false, nil
	}
	s.subs[k] = campaign.Subscriber{Staff: who, Since: s.now()}
	return true, nil
}

func (s *fakeSubscriptions) Unsubscribe(_ context.Context, channel, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return false, s.err
	}
	k := channel + ":" + id
	_, ok := s.subs[k]
	delete(s.subs, k)
	return ok, nil
}

func (s *fakeSubscriptions) Subscribed(_ context.Context, channel, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.subs[channel+":"+id]
	return ok, s.err
}

func (s *fakeSubscriptions) Subscribers(context.Context) ([]campaign.Subscriber, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []campaign.Subscriber
	for _, v := range s.subs {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b campaign.Subscriber) int {
		return strings.Compare(a.Channel+":"+a.ExternalID, b.Channel+":"+b.ExternalID)
	})
	return out, s.err
}

func (s *fakeSubscriptions) subscriber(id string) (campaign.Subscriber, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.subs["telegram:"+id]
	return v, ok
}

// fakeBroadcasts is an in-memory campaign.BroadcastStore. Audiences have the sizes in sizes
// (a ward by "ward:<code>"); CreateBroadcast queues that many messages, all still queued.
type fakeBroadcasts struct {
	mu    sync.Mutex
	now   func() time.Time
	sizes map[string]int
	list  []campaign.BroadcastProgress
	keys  map[string]int // idempotency key → index in list
	// creates counts CreateBroadcast calls, keysSeen the keys they carried.
	creates                          int
	keysSeen                         []string
	countErr, createErr, progressErr error
}

func newFakeBroadcasts(now func() time.Time) *fakeBroadcasts {
	return &fakeBroadcasts{now: now, keys: map[string]int{}, sizes: map[string]int{
		string(campaign.AudienceParents): 1250, string(campaign.AudienceDonors): 1, string(campaign.AudienceStaff): 48,
		"ward:" + wardLT: 85,
	}}
}

func audienceKey(a campaign.Audience) string {
	if a.Kind == campaign.AudienceWard {
		return "ward:" + a.WardCode
	}
	return string(a.Kind)
}

func (s *fakeBroadcasts) CountAudience(_ context.Context, a campaign.Audience) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.countErr != nil {
		return 0, s.countErr
	}
	return s.sizes[audienceKey(a)], nil
}

func (s *fakeBroadcasts) CreateBroadcast(_ context.Context, b *campaign.Broadcast, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates++
	s.keysSeen = append(s.keysSeen, key)
	if s.createErr != nil {
		return false, s.createErr
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

func (s *fakeBroadcasts) BroadcastProgress(_ context.Context, code string) (campaign.BroadcastProgress, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.progressErr != nil {
		return campaign.BroadcastProgress{}, s.progressErr
	}
	for _, p := range s.list {
		if p.Code == code {
			return p, nil
		}
	}
	return campaign.BroadcastProgress{}, campaign.Errorf(campaign.ENOTFOUND, "no broadcast %s", code)
}

// advance moves a broadcast's messages out of the queue: sent, failed and stopped.
func (s *fakeBroadcasts) advance(code string, sent, failed, stopped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.list {
		if p := &s.list[i]; p.Code == code {
			p.Sent, p.Failed, p.Stopped = sent, failed, stopped
			p.Queued = p.Recipients - sent - failed - stopped
		}
	}
}

func (s *fakeBroadcasts) created() []campaign.BroadcastProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// notifyFakes are the stores withNotify gives a chat.
type notifyFakes struct {
	subs  *fakeSubscriptions
	bcs   *fakeBroadcasts
	woken int // Config.OnQueued calls
}

// withNotify gives the chat's engine a subscription store, a broadcast store and an OnQueued
// hook, and the staff of the broadcast tests: a city official, a culture office member, a ward
// official of Linh Trung and an education official.
func (c *convo) withNotify() *notifyFakes {
	c.t.Helper()
	f := &notifyFakes{
		subs: &fakeSubscriptions{now: func() time.Time { return c.now }, subs: map[string]campaign.Subscriber{}},
		bcs:  newFakeBroadcasts(func() time.Time { return c.now }),
	}
	cfg := c.e.cfg
	cfg.Subscriptions = f.subs
	cfg.Broadcasts = f.bcs
	cfg.OnQueued = func() { f.woken++ }
	c.rebuild(cfg)
	c.staff.add(officialID, "Phạm Thị Mai", campaign.RoleCityOfficial, "")
	c.staff.add(cultureID, "Võ Văn Hóa", campaign.RoleCultureInfo, "")
	c.staff.add(wardOffID, "Phạm Thị Phường", campaign.RoleWardOfficial, wardLT)
	c.staff.add(eduID, "Lê Văn Giáo", campaign.RoleEducationOffice, "")
	return f
}

// rebuild replaces the chat's engine by one made with cfg, keeping the message checks.
func (c *convo) rebuild(cfg Config) {
	c.t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	e.observe = c.e.observe
	c.e = e
}
