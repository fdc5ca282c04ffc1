// Package flows holds the bot's conversations as state machines: a form engine (fields, prompts,
// validators, re-asks, review and edit) and one file per flow. It is channel-neutral: it reads an
// Input and a State and returns Outputs and the next State; the bot package loads and saves the
// State and sends the Outputs. User-facing text lives in the catalog (package locales), never in
// the logic.
package flows
