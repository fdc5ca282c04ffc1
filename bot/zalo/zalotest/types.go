package zalotest

import (
	"encoding/json"
	"time"
)

// Message is a message the OA sent to a person through /v3.0/oa/message/cs (or, with AdminID, one
// a person typed in the OA inbox: see AdminSendText).
type Message struct {
	// ID is the message_id the API answered, also the msg_id of its echo.
	ID     string
	UserID string
	// Time is when it was sent, on the injected clock.
	Time time.Time
	// Event is the name of its echo: oa_send_text, oa_send_image, oa_send_file or oa_send_list.
	Event string
	Text  string
	// QuoteID is the quote_message_id it answers, if any.
	QuoteID string
	// Buttons are the buttons under the message, in order.
	Buttons []Button
	// Image is the picture of a media template, nil otherwise.
	Image *Image
	// File is the file of a file attachment, nil otherwise.
	File *File
	// RequestInfo is the card of a request_user_info template, nil otherwise.
	RequestInfo *RequestInfo
	// AdminID is set for a message an OA admin typed in the inbox.
	AdminID string
	// Raw is the "message" object exactly as posted.
	Raw json.RawMessage
}

// Button is a button under an OA message.
type Button struct {
	Title string
	// Type is oa.query.show, oa.query.hide, oa.open.url, oa.open.phone or oa.open.sms.
	Type string
	// Payload is the string sent back for a query button, the URL of oa.open.url and the
	// phone_code of oa.open.phone and oa.open.sms.
	Payload string
	// RawPayload is the button's payload as posted.
	RawPayload json.RawMessage
}

// Image is the picture of a media template: an upload's attachment_id (with its bytes) or a URL.
type Image struct {
	AttachmentID string
	URL          string
	Data         []byte // nil for a picture sent by URL
	ContentType  string
}

// File is a file the OA sent by an upload's token.
type File struct {
	Token       string
	Name        string
	Data        []byte
	ContentType string
}

// RequestInfo is the card of a request_user_info template.
type RequestInfo struct {
	Title    string
	Subtitle string
	ImageURL string
}

// ButtonTitles lists the titles of the buttons, for compact assertions.
func (m Message) ButtonTitles() []string {
	out := make([]string, 0, len(m.Buttons))
	for _, b := range m.Buttons {
		out = append(out, b.Title)
	}
	return out
}

// Button finds a button by its title and returns its index.
func (m Message) Button(title string) (Button, int, bool) {
	for i, b := range m.Buttons {
		if b.Title == title {
			return b, i, true
		}
	}
	return Button{}, -1, false
}

// Info is what a person shares by answering a request_user_info card; Phone may be typed as
// "0912…" or "+84912…" and is sent as "84912…".
type Info struct {
	Name     string
	Phone    string
	Address  string
	City     string
	District string
	Ward     string
}

// Person is a person the emulator plays.
type Person struct {
	ID string
	// IDByApp is the person's user_id_by_app.
	IDByApp  string
	Name     string
	Follower bool
	Banned   bool
	// LastInteraction is when the person last wrote, followed, tapped a query button or shared
	// their info, on the injected clock; zero when never.
	LastInteraction time.Time
	// Shared is what the person last shared with the OA, nil when nothing.
	Shared *Info
}

// Event is one webhook event and what became of its deliveries.
type Event struct {
	// ID is the event's msg_id, or a made-up id for events without one (follow, unfollow,
	// user_submit_info, injected bodies without message.msg_id).
	ID     string
	Name   string
	UserID string
	// Body is the exact body posted; Signature the X-ZEvent-Signature sent with it ("" unsigned).
	Body      []byte
	Signature string
	// Attempts lists every post of the event, duplicates included, in order.
	Attempts []Attempt
	// Delivered is true once a post was answered 2xx within SlowAfter.
	Delivered bool
	// GaveUp is true when the redelivery schedule ran out without a successful post.
	GaveUp bool
	// Duplicate is true when the event was chosen to be delivered twice (Options.DuplicateEvery).
	Duplicate bool
}

// Deliveries counts the posts of the event, duplicates and failed ones included.
func (e Event) Deliveries() int { return len(e.Attempts) }

// Attempt is one post of an event to the webhook.
type Attempt struct {
	// NumRetry is the num_retry header sent, 0 for the first post and for a duplicate.
	NumRetry  int
	Duplicate bool
	// Status is the HTTP status answered, 0 when there was no answer.
	Status int
	// Err describes a failure: a connection error, a non-2xx status, or slowness.
	Err     string
	Elapsed time.Duration
	OK      bool
}
