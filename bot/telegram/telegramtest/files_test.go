package telegramtest

import (
	"bytes"
	"encoding/base64"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// A person's photo is a file the bot may send on by any of its sizes' file_ids, as Telegram allows;
// file_ids the emulator never gave out, or of the wrong kind, are refused in Telegram's words.
func TestServer_PhotoFromPersonSentOnByFileID(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{Limits: Limits{Disabled: true}})
	official := User{ID: 502, FirstName: "Cán bộ"}
	emu.AddChat(official)
	proof := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 300)...)
	emu.SendPhotoWith(parent.ID, parent, "Đã giao máy cho em Hùng", proof)
	emu.SendPhoto(parent.ID, parent)
	emu.SendDocument(parent.ID, parent, "giay-khai-sinh.pdf")
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 3 {
		t.Fatalf("getUpdates = %d, %v", len(ups), err)
	}
	withCaption, generated, doc := ups[0].Message, ups[1].Message, ups[2].Message
	if withCaption.Caption != "Đã giao máy cho em Hùng" || len(withCaption.Photo) != 2 {
		t.Fatalf("photo message = %+v", withCaption)
	}
	large, small := withCaption.Photo[1], withCaption.Photo[0]
	if large.Width <= small.Width || large.FileSize != len(proof) || large.FileID == small.FileID {
		t.Errorf("sizes = %+v", withCaption.Photo)
	}

	for _, id := range []string{large.FileID, small.FileID} {
		cfg := tgbotapi.NewPhoto(official.ID, tgbotapi.FileID(id))
		cfg.Caption = "Bằng chứng giao máy"
		sent, err := bot.Send(cfg)
		if err != nil {
			t.Fatalf("sendPhoto by %s: %v", id, err)
		}
		if n := len(sent.Photo); n != 2 || sent.Photo[n-1].FileID != large.FileID {
			t.Errorf("sent photo sizes = %+v, want the person's photo", sent.Photo)
		}
		last, _ := emu.LastMessage(official.ID)
		if last.Method != "sendPhoto" || last.FileID != large.FileID || !bytes.Equal(last.FileData, proof) || last.Caption != "Bằng chứng giao máy" {
			t.Errorf("recorded = %+v", last)
		}
	}

	// A generated photo is a real JPEG, so the chat page can show it.
	genID := generated.Photo[len(generated.Photo)-1].FileID
	if _, err := bot.Send(tgbotapi.NewPhoto(official.ID, tgbotapi.FileID(genID))); err != nil {
		t.Fatal(err)
	}
	last, _ := emu.LastMessage(official.ID)
	if _, err := jpeg.Decode(bytes.NewReader(last.FileData)); err != nil {
		t.Errorf("generated photo is not a JPEG: %v", err)
	}
	if bytes.Equal(last.FileData, proof) {
		t.Error("the generated photo has the other photo's bytes")
	}

	_, err = bot.Send(tgbotapi.NewPhoto(official.ID, tgbotapi.FileID("AgACAgIAAxkBAAIBnotours")))
	if e := tgError(t, err); e.Code != 400 || e.Message != "Bad Request: wrong file identifier/HTTP URL specified" {
		t.Errorf("unknown file_id = %d %q", e.Code, e.Message)
	}
	_, err = bot.Send(tgbotapi.NewPhoto(official.ID, tgbotapi.FileID(doc.Document.FileID)))
	if e := tgError(t, err); e.Message != "Bad Request: type of file mismatch" {
		t.Errorf("document's file_id as a photo = %q", e.Message)
	}
	_, err = bot.Send(tgbotapi.NewDocument(official.ID, tgbotapi.FileID(large.FileID)))
	if e := tgError(t, err); e.Message != "Bad Request: type of file mismatch" {
		t.Errorf("photo's file_id as a document = %q", e.Message)
	}
	if _, err := bot.Send(tgbotapi.NewDocument(official.ID, tgbotapi.FileID(doc.Document.FileID))); err != nil {
		t.Errorf("the person's document by file_id: %v", err)
	}
	if got := len(emu.Messages(official.ID)); got != 4 {
		t.Errorf("official got %d messages, want 4 (refused calls add none)", got)
	}
}

// An upload is kept with its bytes and name only once the call succeeds; an empty one is refused.
func TestServer_UploadsKeptOnlyWhenSent(t *testing.T) {
	emu, _, bot := newEmulator(t, Options{})
	chatID := emu.AddChat(parent)
	_, err := bot.Send(tgbotapi.NewDocument(chatID, tgbotapi.FileBytes{Name: "rong.xlsx", Bytes: []byte{}}))
	if e := tgError(t, err); e.Message != "Bad Request: file must be non-empty" {
		t.Errorf("empty upload = %q", e.Message)
	}
	emu.Block(chatID)
	_, err = bot.Send(tgbotapi.NewDocument(chatID, tgbotapi.FileBytes{Name: "a.xlsx", Bytes: []byte("PK")}))
	// Uploads go through multipart, where the library does not copy the error code: check the text.
	if e := tgError(t, err); e.Message != "Forbidden: bot was blocked by the user" {
		t.Errorf("upload to a blocked chat = %q", e.Message)
	}
	emu.mu.Lock()
	kept := len(emu.files)
	emu.mu.Unlock()
	if kept != 0 {
		t.Errorf("refused uploads left %d files behind", kept)
	}
	emu.Unblock(chatID)
	sent, err := bot.Send(tgbotapi.NewDocument(chatID, tgbotapi.FileBytes{Name: "Báo cáo Thủ Đức.xlsx", Bytes: []byte("PK\x03\x04data")}))
	if err != nil {
		t.Fatal(err)
	}
	last, _ := emu.LastMessage(chatID)
	if last.Document != "Báo cáo Thủ Đức.xlsx" || last.FileID != sent.Document.FileID || string(last.FileData) != "PK\x03\x04data" {
		t.Errorf("recorded = %+v", last)
	}
}

// The chat page shows a bot's document as a download link and a photo as an image, each with its
// caption and buttons, and a person may send a photo from it.
func TestServer_ChatPageFiles(t *testing.T) {
	emu, ts, bot := newEmulator(t, Options{Limits: Limits{Disabled: true}})
	api := ts.URL + "/api/"
	chatID := emu.AddChat(parent)
	data := []byte("PK\x03\x04 bảng tính")
	doc := tgbotapi.NewDocument(chatID, tgbotapi.FileBytes{Name: "Danh sách phường.xlsx", Bytes: data})
	doc.Caption = "Danh sách <b>đã duyệt</b>"
	doc.ParseMode = tgbotapi.ModeHTML
	doc.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Gửi lại", "export:again")))
	if _, err := bot.Send(doc); err != nil {
		t.Fatal(err)
	}
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 64)...)
	body := `{"user":501,"lang":"vi","text":"  Đã giao máy  ","photo":"` + base64.StdEncoding.EncodeToString(png) + `"}`
	if code := postJSON(t, api+"photo", body); code != 200 {
		t.Fatalf("/api/photo = %d", code)
	}
	if code := postJSON(t, api+"photo", `{"user":501,"photo":"`+base64.StdEncoding.EncodeToString([]byte("%PDF-1.4"))+`"}`); code != 400 {
		t.Errorf("/api/photo with a PDF = %d", code)
	}
	if code := postJSON(t, api+"photo", `{"user":501}`); code != 200 {
		t.Errorf("/api/photo without a photo (a generated one) = %d", code)
	}

	var page pageUpdate
	getJSON(t, api+"messages?user=501&since=0", &page)
	if len(page.Messages) != 3 {
		t.Fatalf("messages = %+v", page.Messages)
	}
	botDoc, userPhoto, generated := page.Messages[0], page.Messages[1], page.Messages[2]
	if botDoc.Document == nil || botDoc.Document.Name != "Danh sách phường.xlsx" || botDoc.Document.URL == "" || botDoc.Photo != nil {
		t.Fatalf("document bubble = %+v", botDoc)
	}
	if botDoc.HTML != "Danh sách <b>đã duyệt</b>" || len(botDoc.Inline) != 1 || botDoc.Inline[0][0].CallbackData != "export:again" {
		t.Errorf("document caption and buttons = %q %+v", botDoc.HTML, botDoc.Inline)
	}
	if userPhoto.From != "user" || userPhoto.Photo == nil || userPhoto.Photo.URL == "" || userPhoto.HTML != "Đã giao máy" {
		t.Errorf("photo bubble = %+v", userPhoto)
	}
	if generated.Photo == nil || generated.Photo.URL == "" {
		t.Errorf("generated photo bubble = %+v", generated)
	}

	get := func(url string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b
	}
	resp, got := get(ts.URL + botDoc.Document.URL + "&download=1")
	if resp.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("download = %d %q", resp.StatusCode, got)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=utf-8''Danh%20s%C3%A1ch%20ph%C6%B0%E1%BB%9Dng.xlsx") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	resp, got = get(ts.URL + userPhoto.Photo.URL)
	if resp.StatusCode != 200 || !bytes.Equal(got, png) || resp.Header.Get("Content-Type") != "image/png" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline;") {
		t.Errorf("photo = %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	if resp, _ := get(api + "file?id=EMUnothing"); resp.StatusCode != 404 {
		t.Errorf("unknown file = %d", resp.StatusCode)
	}

	// The page's own script has the pieces: a download link and the photo button.
	_, html := get(ts.URL + "/")
	for _, want := range []string{`a.download = f.name`, `"&download=1"`, `"/api/photo"`, `id="photofile"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if n := len(emu.RejectedCalls()); n != 0 {
		t.Errorf("rejected calls: %+v", emu.RejectedCalls())
	}
}

// A person's document can be downloaded as Telegram allows: getFile gives its file_path, the
// file is at /file/bot<token>/<file_path>; unknown file_ids and files over 20 MB are refused in
// Telegram's words.
func TestServer_GetFileAndDownload(t *testing.T) {
	emu, ts, bot := newEmulator(t, Options{Limits: Limits{Disabled: true}})
	list := []byte("Họ và tên;Ngày sinh\nNguyễn Văn An;05/09/2014\n")
	emu.SendDocumentWith(parent.ID, parent, "danh-sach.csv", list)
	emu.SendDocumentWith(parent.ID, parent, "lon.xlsx", make([]byte, 20<<20+1))
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 2 {
		t.Fatalf("getUpdates = %d, %v", len(ups), err)
	}
	doc := ups[0].Message.Document
	if doc == nil || doc.FileName != "danh-sach.csv" || doc.FileSize != len(list) {
		t.Fatalf("document = %+v", doc)
	}
	f, err := bot.GetFile(tgbotapi.FileConfig{FileID: doc.FileID})
	if err != nil {
		t.Fatalf("getFile: %v", err)
	}
	if f.FileID != doc.FileID || f.FileUniqueID != doc.FileUniqueID || f.FileSize != len(list) || !strings.HasSuffix(f.FilePath, ".csv") {
		t.Errorf("file = %+v", f)
	}
	get := func(url string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	if code, body := get(ts.URL + "/file/bot" + testToken + "/" + f.FilePath); code != http.StatusOK || !bytes.Equal(body, list) {
		t.Errorf("download = %d %q", code, body)
	}
	if code, _ := get(ts.URL + "/file/bot" + testToken + "/documents/file_99.csv"); code != http.StatusNotFound {
		t.Errorf("unknown path = %d, want 404", code)
	}
	if code, _ := get(ts.URL + "/file/bot" + "1:wrong" + "/" + f.FilePath); code != http.StatusUnauthorized {
		t.Errorf("wrong token = %d, want 401", code)
	}

	_, err = bot.GetFile(tgbotapi.FileConfig{FileID: ups[1].Message.Document.FileID})
	if e := tgError(t, err); e.Code != http.StatusBadRequest || e.Message != "Bad Request: file is too big" {
		t.Errorf("getFile of 20 MB + 1 = %+v", e)
	}
	_, err = bot.GetFile(tgbotapi.FileConfig{FileID: "BQADnope"})
	if e := tgError(t, err); e.Code != http.StatusBadRequest || e.Message != "Bad Request: invalid file_id" {
		t.Errorf("getFile of an unknown file_id = %+v", e)
	}
	if u := emu.UnknownParams(); len(u) != 0 {
		t.Errorf("unknown params = %v", u)
	}
}
