package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"maps"
	"net/http"
	"slices"
	"time"
)

// withDefaults fills what Telegram always has: a private chat's person has the chat's id, and
// everyone has a first name.
func withDefaults(chatID int64, u User) User {
	if u.ID == 0 && chatID > 0 {
		u.ID = chatID
	}
	if u.FirstName == "" {
		u.FirstName = fmt.Sprintf("Người dùng %d", u.ID)
	}
	return u
}

// AddChat opens the private chat of a person without sending anything, so the bot may write
// first. It returns the chat's id, which is the person's.
func (s *Server) AddChat(user User) int64 {
	user = withDefaults(user.ID, user)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureChat(user.ID, user)
	return user.ID
}

// userMessage stores a message from the person and queues its update. Writing to the bot restarts
// it for a person who had blocked it, as Telegram's "Restart" does.
func (s *Server) userMessage(chatID int64, user User, fill func(e *entry)) int64 {
	user = withDefaults(chatID, user)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ensureChat(chatID, user)
	c.blocked = false
	e := &entry{from: user}
	fill(e)
	s.addEntry(c, e)
	if c.keyboard != nil && c.keyboard.oneTime {
		c.keyboard, c.keyboardVer = nil, e.version
	}
	return s.pushUpdate(c.id, &wireUpdate{Message: s.wireMessage(c, e)})
}

// SendText sends a text from the person; a text starting with "/" carries a bot_command entity, as
// Telegram adds. It returns the update's id.
func (s *Server) SendText(chatID int64, user User, text string) (updateID int64) {
	return s.userMessage(chatID, user, func(e *entry) {
		e.text, e.html, e.entities = text, html.EscapeString(text), commandEntity(text)
	})
}

// SendContact shares a contact, as a request_contact button does when contactUserID is the
// person's own id.
func (s *Server) SendContact(chatID int64, user User, phone string, contactUserID int64) (updateID int64) {
	user = withDefaults(chatID, user)
	return s.userMessage(chatID, user, func(e *entry) {
		e.contact = &wireContact{PhoneNumber: phone, FirstName: user.FirstName, LastName: user.LastName, UserID: contactUserID}
	})
}

// SendPhoto sends a photo from the person, a small generated JPEG without a caption. Its sizes'
// file_ids are known to the emulator, so the bot may send the photo on by them.
func (s *Server) SendPhoto(chatID int64, user User) (updateID int64) {
	return s.SendPhotoWith(chatID, user, "", nil)
}

// SendPhotoWith sends a photo from the person with a caption; data is the image (JPEG or PNG), or
// nil for a generated one. Its sizes' file_ids are known to the emulator, as SendPhoto's.
func (s *Server) SendPhotoWith(chatID int64, user User, caption string, data []byte) (updateID int64) {
	return s.userMessage(chatID, user, func(e *entry) {
		if data == nil {
			data = placeholderPhoto(s.nextFileID + 1)
		}
		e.caption, e.html = caption, html.EscapeString(caption)
		e.photo = &fileRef{kind: "photo", name: "photo.jpg", mimeType: http.DetectContentType(data), data: data}
		s.storeFile(e.photo)
	})
}

// SendDocument sends a document from the person, without content; its file_id is known to the
// emulator.
func (s *Server) SendDocument(chatID int64, user User, fileName string) (updateID int64) {
	return s.SendDocumentWith(chatID, user, fileName, nil)
}

// SendDocumentWith sends a document from the person with data as its content (a list, say); its
// file_id is known to the emulator and the bot may download it (getFile).
func (s *Server) SendDocumentWith(chatID int64, user User, fileName string, data []byte) (updateID int64) {
	return s.userMessage(chatID, user, func(e *entry) {
		e.document = &fileRef{kind: "document", name: fileName, mimeType: "application/octet-stream", data: data}
		s.storeFile(e.document)
	})
}

// placeholderPhoto draws a small JPEG whose colour changes with n, so that photos differ.
func placeholderPhoto(n int64) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	c := color.RGBA{R: uint8(60 + n*47%160), G: uint8(90 + n*83%140), B: uint8(120 + n*29%120), A: 255}
	draw.Draw(img, img.Bounds(), &image.Uniform{C: c}, image.Point{}, draw.Src)
	// A lighter band, as a stand-in for a device on a table.
	draw.Draw(img, image.Rect(40, 40, 120, 90), &image.Uniform{C: color.RGBA{R: 235, G: 235, B: 235, A: 255}}, image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(fmt.Sprintf("telegramtest: draw a photo: %v", err)) // writing to memory does not fail
	}
	return buf.Bytes()
}

// SendSticker sends a sticker from the person.
func (s *Server) SendSticker(chatID int64, user User) (updateID int64) {
	return s.userMessage(chatID, user, func(e *entry) {
		s.nextFileID++
		e.sticker = fmt.Sprintf("EMUSTICKER%06d", s.nextFileID)
	})
}

// EditText edits a text the person sent earlier and queues an edited_message update.
func (s *Server) EditText(chatID int64, user User, messageID int, text string) (updateID int64, err error) {
	user = withDefaults(chatID, user)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return 0, fmt.Errorf("telegramtest: no chat %d", chatID)
	}
	e := c.byID[messageID]
	if e == nil || e.fromBot || e.deleted || e.from.ID != user.ID || e.contact != nil || e.photo != nil || e.document != nil || e.sticker != "" {
		return 0, fmt.Errorf("telegramtest: chat %d has no text %d from user %d", chatID, messageID, user.ID)
	}
	e.from = user
	e.text, e.html, e.entities = text, html.EscapeString(text), commandEntity(text)
	e.edited, e.editDate, e.version = true, s.opts.Now(), s.nextVersion()
	return s.pushUpdate(c.id, &wireUpdate{EditedMessage: s.wireMessage(c, e)}), nil
}

// PressButton presses the inline button with the given callback data under a bot message and
// queues the callback_query update.
func (s *Server) PressButton(chatID int64, user User, messageID int, data string) (updateID int64, err error) {
	user = withDefaults(chatID, user)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return 0, fmt.Errorf("telegramtest: no chat %d", chatID)
	}
	e := c.byID[messageID]
	if e == nil || !e.fromBot || e.deleted {
		return 0, fmt.Errorf("telegramtest: chat %d has no bot message %d", chatID, messageID)
	}
	found := false
	if e.markup != nil {
		for _, row := range e.markup.inline {
			for _, b := range row {
				found = found || (b.CallbackData == data && data != "")
			}
		}
	}
	if !found {
		return 0, fmt.Errorf("telegramtest: message %d in chat %d has no button with data %q", messageID, chatID, data)
	}
	s.nextQueryID++
	id := fmt.Sprintf("%d", 4170000000000000000+s.nextQueryID)
	s.queries[id] = &callbackQuery{chatID: chatID, messageID: messageID, data: data}
	q := &wireCallbackQuery{ID: id, From: user.wire(), Message: s.wireMessage(c, e), ChatInstance: c.chatInstance(), Data: data}
	return s.pushUpdate(c.id, &wireUpdate{CallbackQuery: q}), nil
}

// InjectRaw queues an update given as JSON, for kinds the user side has no method for. Without an
// update_id it gets the next one.
func (s *Server) InjectRaw(update json.RawMessage) (updateID int64, err error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(update, &obj); err != nil {
		return 0, fmt.Errorf("telegramtest: inject update: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var id int64
	_ = json.Unmarshal(obj["update_id"], &id)
	if id == 0 {
		id = s.nextUpdateID
	}
	s.nextUpdateID = max(s.nextUpdateID, id+1)
	obj["update_id"] = json.RawMessage(fmt.Sprint(id))
	kind := ""
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if k != "update_id" {
			kind = k
			break
		}
	}
	var chatID int64
	var probe struct {
		Chat struct {
			ID int64 `json:"id"`
		} `json:"chat"`
		Message struct {
			Chat struct {
				ID int64 `json:"id"`
			} `json:"chat"`
		} `json:"message"`
	}
	if kind != "" && json.Unmarshal(obj[kind], &probe) == nil {
		chatID = probe.Chat.ID
		if chatID == 0 {
			chatID = probe.Message.Chat.ID
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return 0, fmt.Errorf("telegramtest: inject update: %w", err)
	}
	if chatID != 0 {
		s.ensureChat(chatID, User{}) // so the bot can answer the chat the update names
	}
	s.push(id, chatID, kind, raw)
	return id, nil
}

// Block makes the person of a chat block the bot: the bot's calls to the chat get 403 until Unblock
// or until the person writes again.
func (s *Server) Block(chatID int64) {
	s.setBlocked(chatID, true)
}

// Unblock lifts Block.
func (s *Server) Unblock(chatID int64) {
	s.setBlocked(chatID, false)
}

func (s *Server) setBlocked(chatID int64, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureChat(chatID, withDefaults(chatID, User{})).blocked = blocked
}

// Messages returns every message the bot sent to a chat, in order, each in its latest state;
// deleted ones stay, marked Deleted.
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.botMessages(chatID)
}

// botMessages lists a chat's bot messages; call with s.mu held.
func (s *Server) botMessages(chatID int64) []Message {
	c := s.chats[chatID]
	if c == nil {
		return nil
	}
	var out []Message
	for _, e := range c.entries {
		if e.fromBot {
			out = append(out, publicMessage(chatID, e))
		}
	}
	return out
}

// LastMessage returns the bot's latest message to a chat.
func (s *Server) LastMessage(chatID int64) (Message, bool) {
	msgs := s.Messages(chatID)
	if len(msgs) == 0 {
		return Message{}, false
	}
	return msgs[len(msgs)-1], true
}

// WaitForMessages blocks until the bot has sent at least n messages to a chat, then returns them
// all, or fails when ctx ends first.
func (s *Server) WaitForMessages(ctx context.Context, chatID int64, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		msgs := s.botMessages(chatID)
		changed := s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return msgs, fmt.Errorf("telegramtest: chat %d has %d of %d bot messages: %w", chatID, len(msgs), n, ctx.Err())
		case <-s.closed:
			return msgs, fmt.Errorf("telegramtest: emulator closed with %d of %d bot messages in chat %d", len(msgs), n, chatID)
		}
	}
}

// CurrentKeyboard returns the reply keyboard the person of a chat sees now, nil when none.
func (s *Server) CurrentKeyboard(chatID int64) [][]KeyboardButton {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil && c.keyboard != nil {
		return c.keyboard.rows
	}
	return nil
}

// CallbackAnswers returns the bot's answers to button presses in a chat, in order.
func (s *Server) CallbackAnswers(chatID int64) []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []CallbackAnswer
	if c := s.chats[chatID]; c != nil {
		for _, a := range c.answers {
			out = append(out, a.CallbackAnswer)
		}
	}
	return out
}

// Calls counts the calls made to a Bot API method, failed ones included.
func (s *Server) Calls(method string) int {
	if m := s.spec.method(method); m != nil {
		method = m.Name
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Commands returns the command menu set for the default scope in a language ("" for all languages).
func (s *Server) Commands(lang string) []BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands["default|"+lang])
}

// RejectedCalls returns the calls answered 400, 401 or 404, in order.
func (s *Server) RejectedCalls() []RejectedCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rejected)
}

// UpdateArrived returns the wall-clock time an update was created.
func (s *Server) UpdateArrived(updateID int64) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.arrived[updateID]
	return t, ok
}

// PendingUpdates counts the updates the bot has not confirmed or been delivered yet.
func (s *Server) PendingUpdates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Metrics returns a snapshot of the counters.
func (s *Server) Metrics() Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.metrics
	m.Calls = maps.Clone(s.calls)
	return m
}
