package zalotest

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math/big"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// user is a person who chats with the OA.
type user struct {
	id, byApp, name string
	follower        bool
	banned          bool
	last            time.Time // last interaction, on the injected clock
	shared          *Info
	infoRequested   bool
	entries         []*entry
}

// entry is one item of a person's conversation with the OA, for the transcript and the chat page.
type entry struct {
	seq    int64
	fromOA bool
	time   time.Time
	id     string   // message_id or msg_id
	msg    *Message // the OA's message
	// The person's side.
	kind     string // text, image, sticker, location, file, info, follow, unfollow
	text     string
	hidden   bool // an oa.query.hide tap: sent to the bot, not shown in the chat
	media    *upload
	lat, lng float64
	info     *Info
}

// wire shapes of events.
type wireID struct {
	ID      string `json:"id"`
	AdminID string `json:"admin_id,omitempty"`
}

type wireAttachment struct {
	Type    string `json:"type"`
	Payload any    `json:"payload"`
}

type wireMessage struct {
	Text        string           `json:"text,omitempty"`
	MsgID       string           `json:"msg_id"`
	Attachments []wireAttachment `json:"attachments,omitempty"`
	QuoteMsgID  string           `json:"quote_msg_id,omitempty"`
}

type wireInfo struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Address  string `json:"address"`
	City     string `json:"city"`
	District string `json:"district"`
	Ward     string `json:"ward"`
}

type wireEvent struct {
	AppID       string       `json:"app_id"`
	Sender      wireID       `json:"sender"`
	Recipient   wireID       `json:"recipient"`
	UserIDByApp string       `json:"user_id_by_app"`
	EventName   string       `json:"event_name"`
	Message     *wireMessage `json:"message,omitempty"`
	Info        *wireInfo    `json:"info,omitempty"`
	Timestamp   string       `json:"timestamp"`
}

type wireFollow struct {
	OAID        string `json:"oa_id"`
	Follower    wireID `json:"follower"`
	Source      string `json:"source"`
	UserIDByApp string `json:"user_id_by_app"`
	AppID       string `json:"app_id"`
	Timestamp   string `json:"timestamp"`
	EventName   string `json:"event_name"`
}

// newMsgID makes a message id in Zalo's style: 32 lowercase hex digits.
func newMsgID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newNumericID makes a 19-digit id with a leading digit, beyond 2^53 as Zalo's are.
func newNumericID(lead int64) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(999_999_999_999_999_999))
	return strconv.FormatInt(lead*1_000_000_000_000_000_000+n.Int64(), 10)
}

// AddUser adds a person who has not followed the OA yet and returns their id, a 19-digit string
// such as "7213456789012345678".
func (s *Server) AddUser(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newNumericID(7)
	for s.users[id] != nil {
		id = newNumericID(7)
	}
	s.addUserLocked(id, name)
	return id
}

// AddUserWithID adds a person with a given id; it fails when the id is taken or empty.
func (s *Server) AddUserWithID(id, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		return fmt.Errorf("zalotest: empty user id")
	}
	if s.users[id] != nil {
		return fmt.Errorf("zalotest: user %s exists", id)
	}
	s.addUserLocked(id, name)
	return nil
}

func (s *Server) addUserLocked(id, name string) *user {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Người dùng " + id[max(0, len(id)-4):]
	}
	u := &user{id: id, byApp: newNumericID(5), name: name}
	s.users[id] = u
	s.userOrder = append(s.userOrder, id)
	s.notify()
	return u
}

// People lists the people in the order they were added.
func (s *Server) People() []Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Person, 0, len(s.userOrder))
	for _, id := range s.userOrder {
		out = append(out, s.users[id].person())
	}
	return out
}

// Person returns a person by id.
func (s *Server) Person(id string) (Person, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		return u.person(), true
	}
	return Person{}, false
}

func (u *user) person() Person {
	p := Person{ID: u.id, IDByApp: u.byApp, Name: u.name, Follower: u.follower, Banned: u.banned, LastInteraction: u.last}
	if u.shared != nil {
		sh := *u.shared
		p.Shared = &sh
	}
	return p
}

// Ban flags a person as banned or inactive for more than 45 days: sends to them get -227.
func (s *Server) Ban(userID string) error { return s.setBanned(userID, true) }

// Unban lifts Ban.
func (s *Server) Unban(userID string) error { return s.setBanned(userID, false) }

func (s *Server) setBanned(userID string, banned bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return err
	}
	u.banned = banned
	return nil
}

// SetLastInteraction sets when a person last interacted, without an event, to put them inside or
// outside the 7-day window.
func (s *Server) SetLastInteraction(userID string, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return err
	}
	u.last = t
	return nil
}

func (s *Server) userLocked(id string) (*user, error) {
	if u := s.users[id]; u != nil {
		return u, nil
	}
	return nil, fmt.Errorf("zalotest: no user %s", id)
}

// addEntryLocked appends to a conversation; call with s.mu held.
func (s *Server) addEntryLocked(u *user, e *entry) {
	s.seq++
	e.seq = s.seq
	u.entries = append(u.entries, e)
	s.notify()
}

// timestamp renders a time as Zalo's event timestamp: epoch milliseconds as a string.
func timestamp(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// userEventLocked records a person's message and posts its event; call with s.mu held.
func (s *Server) userEventLocked(u *user, name string, e *entry, msg *wireMessage) string {
	now := s.now()
	u.last = now
	e.id, e.time = newMsgID(), now
	msg.MsgID = e.id
	s.addEntryLocked(u, e)
	s.pushJSONLocked(e.id, name, u.id, wireEvent{
		AppID: s.opts.AppID, Sender: wireID{ID: u.id}, Recipient: wireID{ID: s.opts.OAID},
		UserIDByApp: u.byApp, EventName: name, Message: msg, Timestamp: timestamp(now),
	})
	return e.id
}

// Follow makes a person follow the OA and posts a follow event; it returns the event's id. It
// fails for an unknown person or one who follows already.
func (s *Server) Follow(userID string) (string, error) { return s.follow(userID, true) }

// Unfollow makes a person stop following the OA and posts an unfollow event.
func (s *Server) Unfollow(userID string) (string, error) { return s.follow(userID, false) }

func (s *Server) follow(userID string, follow bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return "", err
	}
	if u.follower == follow {
		return "", fmt.Errorf("zalotest: user %s already has follower=%v", userID, follow)
	}
	name := "unfollow"
	if follow {
		name = "follow"
	}
	now := s.now()
	u.follower, u.last = follow, now
	e := &entry{kind: name, time: now, id: newMsgID()}
	s.addEntryLocked(u, e)
	s.pushJSONLocked(e.id, name, u.id, wireFollow{
		OAID: s.opts.OAID, Follower: wireID{ID: u.id}, Source: "oa_profile", UserIDByApp: u.byApp,
		AppID: s.opts.AppID, Timestamp: timestamp(now), EventName: name,
	})
	return e.id, nil
}

// SendText sends a text from a person (user_send_text) and returns its msg_id.
func (s *Server) SendText(userID, text string) (string, error) {
	if text == "" {
		return "", fmt.Errorf("zalotest: empty text")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return "", err
	}
	return s.userEventLocked(u, "user_send_text", &entry{kind: "text", text: text}, &wireMessage{Text: text}), nil
}

// Tap taps the button at buttonIndex under an OA message. An oa.query.show or oa.query.hide
// button sends its payload as a user_send_text (shown in the chat for show, not for hide) and Tap
// returns its msg_id; an oa.open.* button opens something on the phone, sends no event and returns
// "". It fails for a message that is not the OA's to this person or a button that does not exist.
func (s *Server) Tap(userID, messageID string, buttonIndex int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return "", err
	}
	e := s.messages[messageID]
	if e == nil || e.msg.UserID != userID {
		return "", fmt.Errorf("zalotest: user %s has no OA message %s", userID, messageID)
	}
	if buttonIndex < 0 || buttonIndex >= len(e.msg.Buttons) {
		return "", fmt.Errorf("zalotest: message %s has %d buttons, no button %d", messageID, len(e.msg.Buttons), buttonIndex)
	}
	b := e.msg.Buttons[buttonIndex]
	if b.Type != "oa.query.show" && b.Type != "oa.query.hide" {
		return "", nil
	}
	return s.userEventLocked(u, "user_send_text", &entry{kind: "text", text: b.Payload, hidden: b.Type == "oa.query.hide"},
		&wireMessage{Text: b.Payload}), nil
}

// TapTitle taps the button with a title under an OA message; see Tap.
func (s *Server) TapTitle(userID, messageID, title string) (string, error) {
	s.mu.Lock()
	e := s.messages[messageID]
	idx := -1
	if e != nil {
		_, idx, _ = e.msg.Button(title)
	}
	s.mu.Unlock()
	if idx < 0 {
		return "", fmt.Errorf("zalotest: message %s has no button %q", messageID, title)
	}
	return s.Tap(userID, messageID, idx)
}

// SendImage sends a generated JPEG from a person with a caption (user_send_image); its url is
// served by the emulator.
func (s *Server) SendImage(userID, caption string) (string, error) {
	return s.SendImageData(userID, caption, nil)
}

// SendImageData sends an image (JPEG or PNG; nil for a generated one) from a person.
func (s *Server) SendImageData(userID, caption string, data []byte) (string, error) {
	if data == nil {
		data = placeholderPhoto()
	}
	ct := http.DetectContentType(data)
	if ct != "image/jpeg" && ct != "image/png" {
		return "", fmt.Errorf("zalotest: image must be a JPEG or PNG, not %s", ct)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return "", err
	}
	up := s.storeUploadLocked("image", "image"+map[string]string{"image/jpeg": ".jpg", "image/png": ".png"}[ct], ct, data, false)
	url := s.mediaURLLocked(up)
	return s.userEventLocked(u, "user_send_image", &entry{kind: "image", text: caption, media: up}, &wireMessage{
		Text:        caption,
		Attachments: []wireAttachment{{Type: "image", Payload: map[string]string{"thumbnail": url, "url": url}}},
	}), nil
}

// placeholderPhoto draws a small JPEG: a grey device on a blue table.
func placeholderPhoto() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	draw.Draw(img, img.Bounds(), &image.Uniform{C: color.RGBA{R: 90, G: 140, B: 200, A: 255}}, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(40, 40, 120, 90), &image.Uniform{C: color.RGBA{R: 235, G: 235, B: 235, A: 255}}, image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(fmt.Sprintf("zalotest: draw a photo: %v", err)) // writing to memory does not fail
	}
	return buf.Bytes()
}

// SendSticker sends a sticker from a person (user_send_sticker with payload {id,url}).
func (s *Server) SendSticker(userID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return "", err
	}
	id := rand.Text()[:8]
	return s.userEventLocked(u, "user_send_sticker", &entry{kind: "sticker"}, &wireMessage{
		Attachments: []wireAttachment{{Type: "sticker", Payload: map[string]string{"id": id, "url": "https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid=" + id}}},
	}), nil
}

// SendLocation shares a location from a person (user_send_location with payload
// {coordinates:{latitude,longitude}}, both as strings).
func (s *Server) SendLocation(userID string, lat, lng float64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return "", err
	}
	coords := map[string]string{"latitude": strconv.FormatFloat(lat, 'f', -1, 64), "longitude": strconv.FormatFloat(lng, 'f', -1, 64)}
	return s.userEventLocked(u, "user_send_location", &entry{kind: "location", lat: lat, lng: lng}, &wireMessage{
		Attachments: []wireAttachment{{Type: "location", Payload: map[string]any{"coordinates": coords}}},
	}), nil
}

// SendFile sends a file from a person with generated content (user_send_file).
func (s *Server) SendFile(userID, name string) (string, error) {
	return s.SendFileData(userID, name, []byte("%PDF-1.4\n% zalotest placeholder for "+name+"\n%%EOF\n"))
}

// SendFileData sends a file from a person (user_send_file with payload
// {size,name,checksum,type,url}; size is a string of bytes, checksum the hex MD5 of the content,
// type the extension without the dot, url a link on the emulator's CDN, /zalo/cdn/, which needs no
// token as Zalo's does not).
func (s *Server) SendFileData(userID, name string, data []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return "", err
	}
	up := s.storeUploadLocked("file", name, http.DetectContentType(data), data, false)
	sum := md5.Sum(data)
	return s.userEventLocked(u, "user_send_file", &entry{kind: "file", media: up}, &wireMessage{
		Attachments: []wireAttachment{{Type: "file", Payload: map[string]string{
			"size": strconv.Itoa(len(data)), "name": name, "checksum": hex.EncodeToString(sum[:]),
			"type": strings.TrimPrefix(strings.ToLower(path.Ext(name)), "."), "url": s.cdnURLLocked(up),
		}}},
	}), nil
}

// SubmitInfo answers a request_user_info card with a name and phone; see SubmitInfoWith.
func (s *Server) SubmitInfo(userID, name, phone string) (string, error) {
	return s.SubmitInfoWith(userID, Info{Name: name, Phone: phone})
}

// SubmitInfoWith answers a request_user_info card: it posts user_submit_info with
// "info":{"name","phone","address","city","district","ward"} (the phone as "84…") and returns the
// event's id. It fails unless the OA sent this person a request_user_info.
func (s *Server) SubmitInfoWith(userID string, info Info) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return "", err
	}
	if !u.infoRequested {
		return "", fmt.Errorf("zalotest: the OA has not asked user %s for their info", userID)
	}
	info.Phone = normalizePhone(info.Phone)
	if info.Name == "" {
		info.Name = u.name
	}
	now := s.now()
	u.last, u.shared = now, &info
	e := &entry{kind: "info", time: now, id: newMsgID(), info: &info}
	s.addEntryLocked(u, e)
	s.pushJSONLocked(e.id, "user_submit_info", u.id, wireEvent{
		AppID: s.opts.AppID, Sender: wireID{ID: u.id}, Recipient: wireID{ID: s.opts.OAID},
		UserIDByApp: u.byApp, EventName: "user_submit_info", Timestamp: timestamp(now),
		Info: &wireInfo{Name: info.Name, Phone: info.Phone, Address: info.Address, City: info.City, District: info.District, Ward: info.Ward},
	})
	return e.id, nil
}

// normalizePhone writes a Vietnamese number as Zalo shares it: "84" and the number without its 0.
func normalizePhone(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "0") {
		d = "84" + d[1:]
	}
	return d
}

// adminID is the id of the OA admin who types in the inbox.
const adminID = "2718281828459045235"

// AdminSendText stores a text an OA admin typed in the Zalo OA inbox, outside the API, and posts
// its echo oa_send_text with sender.admin_id; the window and limits are not checked.
func (s *Server) AdminSendText(userID, text string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userLocked(userID)
	if err != nil {
		return "", err
	}
	m := &Message{Event: "oa_send_text", Text: text, UserID: userID, AdminID: adminID}
	s.storeOAMessageLocked(u, m)
	return m.ID, nil
}

// echoLocked posts the echo of an OA message (sender = OA, recipient = person); call with s.mu held.
func (s *Server) echoLocked(u *user, m *Message) {
	msg := &wireMessage{Text: m.Text, MsgID: m.ID, QuoteMsgID: m.QuoteID}
	switch {
	case m.Image != nil:
		url := m.Image.URL
		if up := s.uploads[m.Image.AttachmentID]; up != nil {
			url = s.mediaURLLocked(up)
		}
		msg.Attachments = []wireAttachment{{Type: "image", Payload: map[string]string{"thumbnail": url, "url": url}}}
	case m.File != nil:
		up := s.uploads[m.File.Token]
		msg.Attachments = []wireAttachment{{Type: "file", Payload: map[string]string{
			"size": strconv.Itoa(len(m.File.Data)), "name": m.File.Name, "url": s.mediaURLLocked(up),
			"type": strings.TrimPrefix(strings.ToLower(path.Ext(m.File.Name)), "."),
		}}}
	case m.RequestInfo != nil:
		msg.Text = m.RequestInfo.Title
		msg.Attachments = []wireAttachment{{Type: "template", Payload: map[string]any{
			"template_type": "request_user_info",
			"elements":      []map[string]string{{"title": m.RequestInfo.Title, "subtitle": m.RequestInfo.Subtitle, "image_url": m.RequestInfo.ImageURL}},
		}}}
	}
	s.pushJSONLocked(m.ID, m.Event, u.id, wireEvent{
		AppID: s.opts.AppID, Sender: wireID{ID: s.opts.OAID, AdminID: m.AdminID}, Recipient: wireID{ID: u.id},
		UserIDByApp: u.byApp, EventName: m.Event, Message: msg, Timestamp: timestamp(m.Time),
	})
}

// Messages returns what the OA sent to a person, in order.
func (s *Server) Messages(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oaMessagesLocked(userID)
}

func (s *Server) oaMessagesLocked(userID string) []Message {
	u := s.users[userID]
	if u == nil {
		return nil
	}
	var out []Message
	for _, e := range u.entries {
		if e.fromOA {
			m := *e.msg
			m.Buttons = slices.Clone(m.Buttons)
			out = append(out, m)
		}
	}
	return out
}

// LastMessage returns the OA's latest message to a person.
func (s *Server) LastMessage(userID string) (Message, bool) {
	msgs := s.Messages(userID)
	if len(msgs) == 0 {
		return Message{}, false
	}
	return msgs[len(msgs)-1], true
}

// WaitForMessages blocks until the OA has sent at least n messages to a person, then returns them
// all, or fails when ctx ends first.
func (s *Server) WaitForMessages(ctx context.Context, userID string, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs := s.oaMessagesLocked(userID)
		changed, closed := s.changed, s.closed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		if closed {
			return msgs, fmt.Errorf("zalotest: emulator closed with %d of %d OA messages to %s", len(msgs), n, userID)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return msgs, fmt.Errorf("zalotest: user %s has %d of %d OA messages: %w", userID, len(msgs), n, ctx.Err())
		}
	}
}
