package zalotest

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
	"unicode/utf8"
)

// The shapes /v3.0/oa/message/cs takes:
//
//	{"text":"…"}                                                     text (≤ 2000 characters)
//	{"text":"…","attachment":{"type":"template","payload":{"buttons":[…]}}}        1..5 buttons
//	{"text":"…"?,"attachment":{"type":"template","payload":{"template_type":"media",
//	    "elements":[{"media_type":"image","attachment_id":"…"|"url":"…"}]}}}
//	{"attachment":{"type":"template","payload":{"template_type":"request_user_info",
//	    "elements":[{"title","subtitle"?,"image_url"?}]}}}
//	{"attachment":{"type":"file","payload":{"token":"…"}}}
//
// with an optional "quote_message_id". Buttons: {"title","type","payload"}, type oa.query.show or
// oa.query.hide (payload a string), oa.open.url ({"url"}), oa.open.phone ({"phone_code"}) or
// oa.open.sms ({"phone_code","content"?}). Where Zalo's documentation is unclear the emulator is
// strict: buttons only go with a text message, and request_user_info and file messages carry no
// text.

const (
	maxButtonTitleRunes   = 100
	maxQueryPayloadRunes  = 1000
	maxInfoTitleRunes     = 100
	maxInfoSubtitleRunes  = 500
	errTemplateNotSupport = -233
)

type wireButton struct {
	Title   *string         `json:"title"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

type wireTemplate struct {
	TemplateType *string           `json:"template_type"`
	Buttons      []wireButton      `json:"buttons"`
	Elements     []json.RawMessage `json:"elements"`
}

// parseMessageLocked checks a "message" object against Zalo's shapes and limits and returns the
// Message it describes, without id, time or user; call with s.mu held (uploads are looked up).
func (s *Server) parseMessageLocked(raw json.RawMessage) (*Message, *APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, invalid("message is required")
	}
	var msg struct {
		Text       *string `json:"text"`
		QuoteID    string  `json:"quote_message_id"`
		Attachment *struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		} `json:"attachment"`
	}
	if err := json.Unmarshal(raw, &msg); err != nil {
		return nil, invalid("message: " + err.Error())
	}
	m := &Message{Event: "oa_send_text", QuoteID: msg.QuoteID, Raw: append(json.RawMessage(nil), raw...)}
	hasText := msg.Text != nil && *msg.Text != ""
	if msg.Text != nil {
		m.Text = *msg.Text
		if n := utf8.RuneCountInString(m.Text); n > MaxTextRunes {
			return nil, invalid("message.text has " + strconv.Itoa(n) + " characters, more than " + strconv.Itoa(MaxTextRunes))
		}
	}
	if msg.Attachment == nil {
		if !hasText {
			return nil, invalid("message.text is required and must not be empty")
		}
		return m, nil
	}
	a := msg.Attachment
	switch a.Type {
	case "template":
	case "file":
		if hasText {
			return nil, invalid("a file message carries no text")
		}
		var p struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(a.Payload, &p); err != nil || p.Token == "" {
			return nil, invalid("attachment.payload.token is required for a file")
		}
		up, e := s.uploadLocked(p.Token, "file")
		if e != nil {
			return nil, e
		}
		m.Event = "oa_send_file"
		m.File = &File{Token: p.Token, Name: up.name, Data: up.data, ContentType: up.contentType}
		return m, nil
	case "":
		return nil, invalid("attachment.type is required")
	default:
		return nil, apiErr(errTemplateNotSupport, "Attachment type "+quote(a.Type)+" is not supported")
	}
	var p wireTemplate
	if err := json.Unmarshal(a.Payload, &p); err != nil {
		return nil, invalid("attachment.payload: " + err.Error())
	}
	tt := ""
	if p.TemplateType != nil {
		tt = *p.TemplateType
	}
	switch tt {
	case "":
		if !hasText {
			return nil, invalid("message.text is required with buttons")
		}
		if p.Buttons == nil {
			return nil, invalid("attachment.payload.buttons is required for a template without template_type")
		}
		buttons, e := parseButtons(p.Buttons)
		if e != nil {
			return nil, e
		}
		m.Buttons = buttons
		return m, nil
	case "media":
		if p.Buttons != nil {
			return nil, invalid("buttons go with a text message only, not with template_type media")
		}
		img, e := s.parseMediaLocked(p.Elements)
		if e != nil {
			return nil, e
		}
		m.Event, m.Image = "oa_send_image", img
		return m, nil
	case "request_user_info":
		if hasText {
			return nil, invalid("a request_user_info message carries no text")
		}
		if p.Buttons != nil {
			return nil, invalid("buttons go with a text message only, not with request_user_info")
		}
		info, e := parseRequestInfo(p.Elements)
		if e != nil {
			return nil, e
		}
		m.Event, m.RequestInfo = "oa_send_list", info
		return m, nil
	default:
		return nil, apiErr(errTemplateNotSupport, "Template type "+quote(tt)+" is not supported")
	}
}

func parseButtons(in []wireButton) ([]Button, *APIError) {
	if len(in) == 0 || len(in) > MaxButtons {
		return nil, invalid("buttons must number 1 to " + strconv.Itoa(MaxButtons) + ", not " + strconv.Itoa(len(in)))
	}
	out := make([]Button, 0, len(in))
	for i, b := range in {
		where := "buttons[" + strconv.Itoa(i) + "]"
		if b.Title == nil || *b.Title == "" {
			return nil, invalid(where + ".title is required")
		}
		if n := utf8.RuneCountInString(*b.Title); n > maxButtonTitleRunes {
			return nil, invalid(where + ".title has " + strconv.Itoa(n) + " characters, more than " + strconv.Itoa(maxButtonTitleRunes))
		}
		btn := Button{Title: *b.Title, Type: b.Type, RawPayload: append(json.RawMessage(nil), b.Payload...)}
		switch b.Type {
		case "oa.query.show", "oa.query.hide":
			var p string
			if err := json.Unmarshal(b.Payload, &p); err != nil || p == "" {
				return nil, invalid(where + ".payload must be a non-empty string for " + b.Type)
			}
			if n := utf8.RuneCountInString(p); n > maxQueryPayloadRunes {
				return nil, invalid(where + ".payload has " + strconv.Itoa(n) + " characters, more than " + strconv.Itoa(maxQueryPayloadRunes))
			}
			btn.Payload = p
		case "oa.open.url":
			var p struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal(b.Payload, &p); err != nil || !isHTTPURL(p.URL) {
				return nil, invalid(where + ".payload.url must be an http(s) URL")
			}
			btn.Payload = p.URL
		case "oa.open.phone", "oa.open.sms":
			var p struct {
				PhoneCode string `json:"phone_code"`
				Content   string `json:"content"`
			}
			if err := json.Unmarshal(b.Payload, &p); err != nil || p.PhoneCode == "" {
				return nil, invalid(where + ".payload.phone_code is required for " + b.Type)
			}
			btn.Payload = p.PhoneCode
		default:
			return nil, invalid(where + ".type " + quote(b.Type) + " is not a button type")
		}
		out = append(out, btn)
	}
	return out, nil
}

func (s *Server) parseMediaLocked(elements []json.RawMessage) (*Image, *APIError) {
	if len(elements) != 1 {
		return nil, invalid("template_type media takes exactly one element, not " + strconv.Itoa(len(elements)))
	}
	var el struct {
		MediaType    string `json:"media_type"`
		AttachmentID string `json:"attachment_id"`
		URL          string `json:"url"`
	}
	if err := json.Unmarshal(elements[0], &el); err != nil {
		return nil, invalid("elements[0]: " + err.Error())
	}
	if el.MediaType != "image" {
		return nil, invalid("elements[0].media_type must be image, not " + quote(el.MediaType))
	}
	switch {
	case el.AttachmentID != "" && el.URL != "":
		return nil, invalid("elements[0] takes attachment_id or url, not both")
	case el.AttachmentID != "":
		up, e := s.uploadLocked(el.AttachmentID, "image")
		if e != nil {
			return nil, e
		}
		return &Image{AttachmentID: el.AttachmentID, Data: up.data, ContentType: up.contentType}, nil
	case el.URL != "":
		if !isHTTPURL(el.URL) {
			return nil, invalid("elements[0].url must be an http(s) URL")
		}
		return &Image{URL: el.URL}, nil
	default:
		return nil, invalid("elements[0] needs attachment_id or url")
	}
}

func parseRequestInfo(elements []json.RawMessage) (*RequestInfo, *APIError) {
	if len(elements) != 1 {
		return nil, invalid("template_type request_user_info takes exactly one element, not " + strconv.Itoa(len(elements)))
	}
	var el struct {
		Title    string `json:"title"`
		Subtitle string `json:"subtitle"`
		ImageURL string `json:"image_url"`
	}
	if err := json.Unmarshal(elements[0], &el); err != nil {
		return nil, invalid("elements[0]: " + err.Error())
	}
	switch {
	case el.Title == "":
		return nil, invalid("elements[0].title is required")
	case utf8.RuneCountInString(el.Title) > maxInfoTitleRunes:
		return nil, invalid("elements[0].title is longer than " + strconv.Itoa(maxInfoTitleRunes) + " characters")
	case utf8.RuneCountInString(el.Subtitle) > maxInfoSubtitleRunes:
		return nil, invalid("elements[0].subtitle is longer than " + strconv.Itoa(maxInfoSubtitleRunes) + " characters")
	case el.ImageURL != "" && !isHTTPURL(el.ImageURL):
		return nil, invalid("elements[0].image_url must be an http(s) URL")
	}
	return &RequestInfo{Title: el.Title, Subtitle: el.Subtitle, ImageURL: el.ImageURL}, nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
