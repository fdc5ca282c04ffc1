package zalo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/thuduc/maytinhchoem/chat"
)

// Zalo's limits on what the OA sends.
const (
	maxTextRunes    = 2000 // characters of a message text
	maxButtons      = 5    // query buttons under a message
	maxPayloadBytes = 1000 // bytes a query button carries back
	maxTitleRunes   = 100  // characters of a button's title or a card's title
)

// outMessage is the "message" of a consultation message.
type outMessage struct {
	Text       string      `json:"text,omitempty"`
	Attachment *attachment `json:"attachment,omitempty"`
}

type attachment struct {
	Type    string  `json:"type"`
	Payload payload `json:"payload"`
}

type payload struct {
	TemplateType string    `json:"template_type,omitempty"`
	Buttons      []button  `json:"buttons,omitempty"`
	Elements     []element `json:"elements,omitempty"`
	Token        string    `json:"token,omitempty"`
}

type button struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Payload string `json:"payload"`
}

type element struct {
	MediaType    string `json:"media_type,omitempty"`
	AttachmentID string `json:"attachment_id,omitempty"`
	URL          string `json:"url,omitempty"`
	Title        string `json:"title,omitempty"`
	Subtitle     string `json:"subtitle,omitempty"`
	ImageURL     string `json:"image_url,omitempty"`
}

// Send sends r to the person r.ChatID names (a Zalo user id), as one or more consultation
// messages, in order; the first failure stops and is returned.
//
// Zalo has no edits, toasts or reply keyboards, so: a Replace is sent anew; an Ack becomes the
// first line of the text (a tapped hidden button leaves no trace in the chat); an Aside message,
// and a Reply with nothing but an Ack, send nothing. Up to five choices go as query buttons under
// the last part of the text (which is cut at 2,000 characters); more go as a numbered list with a
// hint, answered by number or label (see ToUpdate). A request for the phone is a second message,
// Zalo's request_user_info card; its suggestions go as buttons that send their text. A file goes
// as an image or a document Zalo stores, before its caption, or, when Zalo cannot carry it, as a
// download link after it.
//
// Send does not wait or retry, except once after refreshing a refused access token. It refuses to
// write to a person whose last interaction is older than the window (chat.ErrUnreachable) without
// calling Zalo. Zalo's refusals are classified as APIError says; a reply that cannot be sent as it
// is wraps chat.ErrRejected; a dead refresh token wraps ErrTokenDead; network errors and 5xx are
// plain.
func (a *Adapter) Send(ctx context.Context, r chat.Reply) error {
	if r.Channel != "" && r.Channel != Channel {
		return rejected("reply for channel %q", r.Channel)
	}
	if r.ChatID == "" {
		return rejected("reply without a chat id")
	}
	if r.Aside {
		return nil
	}
	text := strings.TrimSpace(r.Text)
	choices, err := choicesOf(r.Output)
	if err != nil {
		return err
	}
	if text == "" && r.File == nil && r.AskContact == nil && len(choices) == 0 {
		return nil // it only acknowledged a button press
	}
	if ack := strings.TrimSpace(r.Ack); ack != "" {
		text = strings.TrimSpace(ack + "\n\n" + text)
	}
	if text == "" && len(choices) > 0 {
		return rejected("a message with buttons needs a text")
	}
	if _, err := a.accessToken(); err != nil {
		return fmt.Errorf("zalo: send: %w", err)
	}
	if err := a.checkWindow(ctx, r); err != nil {
		return err
	}

	var before, after []outMessage
	if r.File != nil {
		// Before anything is sent, so a file that cannot go sends nothing.
		media, link, err := a.prepareFile(ctx, r.ChatID, r.File, r.Lang)
		if err != nil {
			return err
		}
		before, after = media, link
	}
	texts, m := textMessages(text, choices, r.Lang)
	if r.AskContact != nil {
		after = append(after, contactMessage(r.AskContact, r.Lang, a.cfg.ContactImageURL))
	}
	switch {
	case m != nil:
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := a.cfg.Menus.SetMenu(ctx, r.ChatID, data, menuTTL); err != nil {
			return fmt.Errorf("zalo: keep the numbered list of %s: %w", r.ChatID, err)
		}
	case len(choices) > 0 || r.AskContact != nil:
		// A newer question: an earlier numbered list no longer answers anything.
		if err := a.cfg.Menus.ClearMenu(ctx, r.ChatID); err != nil {
			return fmt.Errorf("zalo: clear the numbered list of %s: %w", r.ChatID, err)
		}
	}
	for _, msg := range append(append(before, texts...), after...) {
		if err := a.sendMessage(ctx, r.ChatID, msg); err != nil {
			return err
		}
	}
	return nil
}

// checkWindow refuses a person Zalo will not carry a consultation message to, by their last known
// interaction, so the OA never writes blindly. An unknown interaction is left to Zalo to judge. A
// reply to a message the person sent within the window (less promptSlack) goes without asking:
// that message opened the window (most of what the bot sends, and a Redis round trip each).
func (a *Adapter) checkWindow(ctx context.Context, r chat.Reply) error {
	if !r.Prompted.IsZero() && a.now().Sub(r.Prompted) < a.cfg.Window-promptSlack {
		return nil
	}
	userID := r.ChatID
	last, err := a.cfg.Interactions.LastInteraction(ctx, userID)
	if err != nil {
		return fmt.Errorf("zalo: last interaction of %s: %w", userID, err)
	}
	if !last.IsZero() && a.now().Sub(last) > a.cfg.Window {
		return fmt.Errorf("zalo: %s last interacted on %s, outside Zalo's %s window: %w",
			userID, last.Format("2006-01-02 15:04"), a.cfg.Window, chat.ErrUnreachable)
	}
	return nil
}

// promptSlack is how much earlier than a reply's Prompted time the person's message may have
// been made (the time an event waited in the inbox), for checkWindow.
const promptSlack = time.Hour

// sendMessage sends one consultation message.
func (a *Adapter) sendMessage(ctx context.Context, userID string, msg outMessage) error {
	body, err := jsonBody(map[string]any{
		"recipient": map[string]string{"user_id": userID},
		"message":   msg,
	})
	if err != nil {
		return err
	}
	_, err = a.call(ctx, "send a message", "/v3.0/oa/message/cs", a.cfg.HTTPTimeout, body)
	return err
}

// choice is one option under a message: a button's, whose Data comes back as a KindChoice, or a
// suggested answer, whose text comes back as typed.
type choice struct {
	label, data, text string
}

// choicesOf lists o's options in order: suggested phone numbers first, then the buttons' rows
// flattened.
func choicesOf(o chat.Output) ([]choice, error) {
	var out []choice
	if c := o.AskContact; c != nil {
		if strings.TrimSpace(c.Label) == "" {
			return nil, rejected("a request for the phone has no title")
		}
		for _, s := range c.Suggestions {
			s = strings.TrimSpace(s)
			if s == "" || len(s) > maxPayloadBytes {
				return nil, rejected("a suggested answer must have 1 to %d bytes", maxPayloadBytes)
			}
			out = append(out, choice{label: s, text: s})
		}
	}
	for _, row := range o.Buttons {
		for _, b := range row {
			if strings.TrimSpace(b.Text) == "" {
				return nil, rejected("button with data %q has no text", b.Data)
			}
			if b.Data == "" || len(choicePrefix)+len(b.Data) > maxPayloadBytes {
				return nil, rejected("button data %q must have 1 to %d bytes", b.Data, maxPayloadBytes-len(choicePrefix))
			}
			out = append(out, choice{label: strings.TrimSpace(b.Text), data: b.Data})
		}
	}
	return out, nil
}

// textMessages renders text with its choices: query buttons under the last part when there are
// at most five, else a numbered list and a hint appended to the text, and the menu to keep.
func textMessages(text string, choices []choice, lang string) ([]outMessage, *menu) {
	var m *menu
	if len(choices) > maxButtons {
		m = &menu{}
		for _, c := range choices {
			m.Choices = append(m.Choices, menuChoice{Label: c.label, Data: c.data, Text: c.text})
		}
		// Quantities as labels ("1", "10", "50") would read as positions: such a list has
		// bullets and is answered by typing the choice.
		numeric, hint := m.numeric(), words(lang).hint
		if numeric {
			hint = words(lang).hintTyped
		}
		var list strings.Builder
		for i, c := range choices {
			if numeric {
				fmt.Fprintf(&list, "• %s\n", c.label)
			} else {
				fmt.Fprintf(&list, "%d. %s\n", i+1, c.label)
			}
		}
		text = text + "\n\n" + strings.TrimSpace(list.String()) + "\n\n" + hint
	}
	parts := splitText(text, maxTextRunes)
	msgs := make([]outMessage, len(parts))
	for i, p := range parts {
		msgs[i].Text = p
	}
	if m == nil && len(choices) > 0 && len(msgs) > 0 {
		buttons := make([]button, len(choices))
		for i, c := range choices {
			buttons[i] = button{Title: truncate(c.label, maxTitleRunes), Type: "oa.query.hide", Payload: choicePrefix + c.data}
			if c.data == "" {
				// A suggested answer shows in the chat, as if typed.
				buttons[i].Type, buttons[i].Payload = "oa.query.show", c.text
			}
		}
		msgs[len(msgs)-1].Attachment = &attachment{Type: "template", Payload: payload{Buttons: buttons}}
	}
	return msgs, m
}

// contactMessage is Zalo's card asking for the person's phone number.
func contactMessage(c *chat.ContactRequest, lang, imageURL string) outMessage {
	return outMessage{Attachment: &attachment{Type: "template", Payload: payload{
		TemplateType: "request_user_info",
		Elements: []element{{
			Title:    truncate(strings.TrimSpace(c.Label), maxTitleRunes),
			Subtitle: words(lang).contactSubtitle,
			ImageURL: imageURL,
		}},
	}}}
}

// wording is the few words the adapter adds of its own.
type wording struct {
	hint            string
	hintTyped       string // for a list answered by typing the choice only
	contactSubtitle string
	link            string // a format of the file's name, the URL and how long it works
	noLink          string // a format of the file's name: it cannot be sent here
	hours, minutes  string
}

// words is the adapter's wording in lang: English for "en…", else Vietnamese.
func words(lang string) wording {
	if strings.HasPrefix(strings.ToLower(lang), "en") {
		return wording{
			hint:            "👉 Reply with the number (e.g. 3) or type the choice.",
			hintTyped:       "👉 Reply by typing one of the choices above.",
			contactSubtitle: "Your number is only used to contact you about the child's device.",
			link:            "📎 %s: %s\n(The link works for %s.)",
			noLink:          "📎 %s cannot be sent on Zalo. Please ask for it on Telegram, or ask the campaign's administrator.",
			hours:           "hours",
			minutes:         "minutes",
		}
	}
	return wording{
		hint:            "👉 Trả lời bằng số thứ tự (ví dụ: 3) hoặc gõ tên lựa chọn.",
		hintTyped:       "👉 Trả lời bằng cách gõ một lựa chọn ở trên.",
		contactSubtitle: "Số điện thoại chỉ dùng để liên hệ với bạn về máy tính cho em.",
		link:            "📎 %s: %s\n(Liên kết dùng được trong %s.)",
		noLink:          "📎 Không gửi được tệp %s qua Zalo. Xin lấy tệp qua Telegram hoặc liên hệ quản trị viên chương trình.",
		hours:           "giờ",
		minutes:         "phút",
	}
}

// truncate shortens s to at most limit characters, ending it with "…" when cut.
func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	n := 0
	for i := range s {
		if n == limit-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// splitText cuts s into parts of at most limit characters, each cut in the second half of its
// window at the last blank line, else line break, else sentence end, else space, else between two
// characters. Parts are trimmed and empty ones dropped.
func splitText(s string, limit int) []string {
	var parts []string
	for {
		s = strings.TrimSpace(s)
		if s == "" {
			return parts
		}
		if utf8.RuneCountInString(s) <= limit {
			return append(parts, s)
		}
		end, half := runeOffset(s, limit), runeOffset(s, limit/2)
		cut := end
		for _, sep := range []struct {
			text string
			keep int // bytes of the separator that stay in the part
		}{{"\n\n", 0}, {"\n", 0}, {". ", 1}, {" ", 0}} {
			// The separator may start right at the window's end: the part still fits.
			window := s[:min(len(s), end-sep.keep+len(sep.text))]
			if i := strings.LastIndex(window, sep.text); i >= 0 && i+sep.keep >= half && i+sep.keep > 0 {
				cut = i + sep.keep
				break
			}
		}
		parts = append(parts, strings.TrimSpace(s[:cut]))
		s = s[cut:]
	}
}

// runeOffset is the byte offset of the n-th character of s, len(s) when s is shorter.
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}
