package telegramtest

import (
	"fmt"
	"html"
	"strings"
)

// Telegram's limits on what a bot may send.
const (
	maxTextLength       = 4096 // UTF-16 code units of the text after entity parsing
	maxCaptionLength    = 1024
	maxCallbackDataSize = 64 // bytes
)

// utf16Length counts UTF-16 code units, the unit Telegram measures text and entity offsets in: an
// emoji outside the Basic Multilingual Plane counts two, a Vietnamese letter with its marks one.
func utf16Length(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2 // a surrogate pair
		} else {
			n++
		}
	}
	return n
}

// formatted is a text as the user sees it, and a rendering of it that is safe to put in a web page.
type formatted struct {
	plain string
	html  string
}

// htmlTag maps a tag of Telegram's HTML parse mode to the tag the web page shows it with; an empty
// shown keeps only the content. ok is false for tags Telegram refuses.
func htmlTag(name string) (shown string, ok bool) {
	switch name {
	case "b", "strong":
		return "b", true
	case "i", "em":
		return "i", true
	case "u", "ins":
		return "u", true
	case "s", "strike", "del":
		return "s", true
	case "code", "pre", "blockquote":
		return name, true
	case "a", "span", "tg-spoiler", "tg-emoji":
		return "", true
	}
	return "", false
}

// formatText applies a parse mode the way Telegram does before it counts or stores the text. HTML is
// parsed and refused with Telegram's wording when malformed; Markdown modes are not parsed, and
// their text is stored and counted as sent.
func formatText(text, parseMode string) (formatted, *apiError) {
	if !strings.EqualFold(parseMode, "HTML") {
		return formatted{plain: text, html: html.EscapeString(text)}, nil
	}
	var plain, safe strings.Builder
	var open []string
	for i := 0; i < len(text); {
		lt := strings.IndexByte(text[i:], '<')
		if lt < 0 {
			lt = len(text) - i
		}
		segment := html.UnescapeString(text[i : i+lt])
		plain.WriteString(segment)
		safe.WriteString(html.EscapeString(segment))
		i += lt
		if i >= len(text) {
			break
		}
		offset := i
		j := i + 1
		isEnd := strings.HasPrefix(text[j:], "/")
		if isEnd {
			j++
		}
		k := j
		for k < len(text) && isTagNameByte(text[k]) {
			k++
		}
		name := strings.ToLower(text[j:k])
		gt := strings.IndexByte(text[k:], '>')
		if isEnd {
			if gt < 0 {
				return formatted{}, badRequest(fmt.Sprintf("can't parse entities: Unclosed end tag at byte offset %d", offset))
			}
			if len(open) == 0 || open[len(open)-1] != name {
				return formatted{}, badRequest(fmt.Sprintf("can't parse entities: Unexpected end tag at byte offset %d", offset))
			}
			open = open[:len(open)-1]
			if shown, _ := htmlTag(name); shown != "" {
				safe.WriteString("</" + shown + ">")
			}
			i = k + gt + 1
			continue
		}
		shown, ok := htmlTag(name)
		if !ok {
			return formatted{}, badRequest(fmt.Sprintf("can't parse entities: Unsupported start tag %q at byte offset %d", name, offset))
		}
		if gt < 0 {
			return formatted{}, badRequest(fmt.Sprintf("can't parse entities: Unclosed start tag at byte offset %d", offset))
		}
		open = append(open, name)
		if shown != "" {
			safe.WriteString("<" + shown + ">")
		}
		i = k + gt + 1
	}
	if len(open) > 0 {
		return formatted{}, badRequest(fmt.Sprintf("can't parse entities: Can't find end tag corresponding to start tag %q", open[len(open)-1]))
	}
	return formatted{plain: plain.String(), html: safe.String()}, nil
}

func isTagNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// checkText formats a message text and holds it to Telegram's length limits.
func checkText(text, parseMode string) (formatted, *apiError) {
	f, err := formatText(text, parseMode)
	if err != nil {
		return f, err
	}
	n := utf16Length(f.plain)
	if strings.TrimSpace(f.plain) == "" {
		return f, badRequest("message text is empty")
	}
	if n > maxTextLength {
		return f, badRequest("message is too long")
	}
	return f, nil
}

// checkCaption formats a caption and holds it to Telegram's limit.
func checkCaption(caption, parseMode string) (formatted, *apiError) {
	f, err := formatText(caption, parseMode)
	if err != nil {
		return f, err
	}
	if utf16Length(f.plain) > maxCaptionLength {
		return f, badRequest("message caption is too long")
	}
	return f, nil
}

// commandEntity is the bot_command entity Telegram adds to a text that starts with "/": from the
// slash up to the first space.
func commandEntity(text string) []wireEntity {
	if len(text) < 2 || text[0] != '/' {
		return nil
	}
	cmd := text
	if i := strings.IndexAny(text, " \n\t"); i >= 0 {
		cmd = text[:i]
	}
	if len(cmd) < 2 {
		return nil
	}
	return []wireEntity{{Type: "bot_command", Offset: 0, Length: utf16Length(cmd)}}
}
