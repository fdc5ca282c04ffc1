package flows

import (
	"time"

	"github.com/thuduc/maytinhchoem/chat"
)

// The exchange's types are the chat package's: flows say what to ask, never how a channel shows it.
type (
	// InputKind says what a person did; see chat.InputKind.
	InputKind = chat.InputKind
	// Input is one thing a person did; see chat.Input.
	Input = chat.Input
	// SharedContact is a phone number a person shared; see chat.Contact.
	SharedContact = chat.Contact
	// Output is one message for a person; see chat.Output.
	Output = chat.Output
	// File is a file to send; see chat.File.
	File = chat.File
	// Button is one choice offered with a message; see chat.Button.
	Button = chat.Button
	// ContactRequest asks for the person's phone; see chat.ContactRequest.
	ContactRequest = chat.ContactRequest
	// Session is the chat a flow talks in; see chat.Address.
	Session = chat.Address
)

// Kinds of input, as in chat.
const (
	KindText    = chat.KindText
	KindCommand = chat.KindCommand
	KindChoice  = chat.KindChoice
	KindContact = chat.KindContact
	KindEdited  = chat.KindEdited
	KindOther   = chat.KindOther
)

// State is a chat's dialog: which flow and step it is in and what has been answered so far. It is
// stored by the bot between inputs (as JSON) and must hold everything a flow needs to resume.
type State struct {
	Flow    string            `json:"flow,omitempty"`
	Step    string            `json:"step,omitempty"`
	Answers map[string]string `json:"answers,omitempty"`
	// Misses counts wrong answers to the current step.
	Misses int `json:"misses,omitempty"`
	// Editing is set while a field is being changed from the review, so the form returns there.
	Editing bool `json:"editing,omitempty"`
	// Page is the page of a paged choice (wards) being shown.
	Page int `json:"page,omitempty"`
	// IdempotencyKey is chosen when a form starts and sent with its submit.
	IdempotencyKey string `json:"idem,omitempty"`
	// Lang is the language chosen with /lang; "" means follow the user's app.
	Lang string `json:"lang,omitempty"`
	// StartedAt and UpdatedAt are when the form started and when the user last answered.
	StartedAt time.Time `json:"started_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}
