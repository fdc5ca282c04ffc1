package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/thuduc/maytinhchoem/campaign"
)

// MaxFileSize is the largest file FileStore keeps: 50 MB, far above a campaign's workbook.
const MaxFileSize = 50 << 20

// Limits of the channel stores: a record's key, a published file's name, a link's token.
const (
	maxRecordKey    = 200
	maxFileName     = 255
	fileTokenBytes  = 32
	maxFileTokenLen = 64
)

// RecordStore keeps small JSON records that the replicas of a channel adapter share, such as a
// Zalo OA's access and refresh tokens, in channel_records.
type RecordStore struct {
	db *DB
}

// NewRecordStore returns a RecordStore over db.
func NewRecordStore(db *DB) *RecordStore { return &RecordStore{db: db} }

// LoadRecord returns the record stored under key as JSON, nil when there is none.
func (s *RecordStore) LoadRecord(ctx context.Context, key string) ([]byte, error) {
	if err := checkRecordKey(key); err != nil {
		return nil, err
	}
	var data []byte
	err := s.db.db.QueryRowContext(ctx, `SELECT data FROM channel_records WHERE key = $1`, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapErr(err, "postgres: load record")
	}
	return data, nil
}

// UpdateRecord runs fn with the record under key (nil when there is none), stores what fn
// returns, which must be JSON, and returns the record as stored (jsonb's own spelling of it) once
// the transaction committed.
//
// Callers take turns: a transaction-scoped advisory lock on the key, which exists even when the
// row does not yet, is held across fn, so of two replicas updating at once the second's fn runs
// after the first committed and sees its record. fn may be slow (an HTTP call refreshing a
// token): it holds one connection and the key's lock meanwhile, nothing else. When fn fails, or
// returns something that is not JSON, nothing is stored and the error is returned; fn's own
// error is wrapped, so errors.Is and campaign.ErrorCode see it.
func (s *RecordStore) UpdateRecord(ctx context.Context, key string, fn func(current []byte) ([]byte, error)) ([]byte, error) {
	if err := checkRecordKey(key); err != nil {
		return nil, err
	}
	var stored []byte
	err := s.db.tx(ctx, "update record", txOptions{once: true}, func(tx *sqlx.Tx) error {
		// The replica holding the lock may be inside a slow fn (an HTTP refresh of a token): wait
		// for it longer than the pool's lock_timeout lets ordinary statements wait.
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '60s'`); err != nil {
			return wrapErr(err, "postgres: update record: lock timeout")
		}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "record:"+key); err != nil {
			return wrapErr(err, "postgres: update record: lock")
		}
		var current []byte
		err := tx.QueryRowContext(ctx, `SELECT data FROM channel_records WHERE key = $1 FOR UPDATE`, key).Scan(&current)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return wrapErr(err, "postgres: update record: read")
		}
		next, err := fn(current)
		if err != nil {
			return fmt.Errorf("postgres: update record %s: %w", key, err)
		}
		if !json.Valid(next) {
			return campaign.Errorf(campaign.EINVALID, "record %s: the new value is not JSON", key)
		}
		// Text, as binary parameters would be taken for jsonb's own binary format.
		err = tx.QueryRowContext(ctx, `
			INSERT INTO channel_records (key, data, updated_at) VALUES ($1, $2::text::jsonb, $3)
			ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at
			RETURNING data`,
			key, string(next), s.db.now()).Scan(&stored)
		if err != nil {
			return wrapErr(err, "postgres: update record: write")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// checkRecordKey returns an EINVALID error for an empty or overlong key.
func checkRecordKey(key string) error {
	if key == "" || len(key) > maxRecordKey {
		return campaign.Errorf(campaign.EINVALID, "a record key must have 1 to %d bytes", maxRecordKey)
	}
	return nil
}

// FileStore keeps copies of files published as short-lived download links (file_links), for a
// channel that cannot carry a file itself. The link's token is its only secret.
type FileStore struct {
	db *DB
	// MaxSize is the largest file kept; MaxFileSize when zero.
	MaxSize int64
}

// NewFileStore returns a FileStore over db.
func NewFileStore(db *DB) *FileStore { return &FileStore{db: db} }

// Put stores the content read from r under name until ttl from now (the db's clock) and returns
// the token that opens it: 32 random bytes, base64url, unguessable. Content over MaxFileSize, an
// empty or overlong name, or a ttl that is not positive is an EINVALID error.
func (s *FileStore) Put(ctx context.Context, name string, r io.Reader, ttl time.Duration) (string, error) {
	limit := s.MaxSize
	if limit <= 0 {
		limit = MaxFileSize
	}
	name = campaign.NormalizeText(name)
	if name == "" || utf8.RuneCountInString(name) > maxFileName {
		return "", campaign.Errorf(campaign.EINVALID, "a file needs a name of at most %d characters", maxFileName)
	}
	if ttl <= 0 {
		return "", campaign.Errorf(campaign.EINVALID, "a file link needs a positive lifetime")
	}
	var buf bytes.Buffer
	if n, ok := sizeOf(r); ok {
		// A file or an in-memory reader says how much is coming: too much is refused unread,
		// and the rest is read without growing the buffer again and again.
		if n > limit {
			return "", campaign.Errorf(campaign.EINVALID, "file %s is larger than %d MB", name, limit>>20)
		}
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, limit+1)); err != nil {
		return "", fmt.Errorf("postgres: put file %s: read: %w", name, err)
	}
	if int64(buf.Len()) > limit {
		return "", campaign.Errorf(campaign.EINVALID, "file %s is larger than %d MB", name, limit>>20)
	}
	raw := make([]byte, fileTokenBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.db.now()
	_, err := s.db.db.ExecContext(ctx, `
		INSERT INTO file_links (token, name, content, size, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		token, name, buf.Bytes(), buf.Len(), now, now.Add(ttl))
	if err != nil {
		return "", wrapErr(err, "postgres: put file")
	}
	return token, nil
}

// sizeOf returns how many bytes r has left to read, when it can tell: a regular *os.File, a
// bytes.Reader or a strings.Reader.
func sizeOf(r io.Reader) (int64, bool) {
	switch r := r.(type) {
	case interface{ Len() int }:
		return int64(r.Len()), true
	case interface {
		Stat() (fs.FileInfo, error)
		io.Seeker
	}:
		fi, err := r.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		at, err := r.Seek(0, io.SeekCurrent)
		if err != nil || at > fi.Size() {
			return 0, false
		}
		return fi.Size() - at, true
	}
	return 0, false
}

// Open returns the name and content of the file of token, or an ENOTFOUND error when the token
// is unknown or its link expired (by the db's clock), swept or not.
func (s *FileStore) Open(ctx context.Context, token string) (name string, content []byte, err error) {
	if token == "" || len(token) > maxFileTokenLen {
		return "", nil, campaign.Errorf(campaign.ENOTFOUND, "no such file")
	}
	err = s.db.db.QueryRowContext(ctx, `
		SELECT name, content FROM file_links WHERE token = $1 AND expires_at > $2`,
		token, s.db.now()).Scan(&name, &content)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, campaign.Errorf(campaign.ENOTFOUND, "no such file, or its link expired")
	}
	if err != nil {
		return "", nil, wrapErr(err, "postgres: open file")
	}
	if content == nil {
		content = []byte{}
	}
	return name, content, nil
}

// Sweep deletes the files whose link expired and returns how many.
func (s *FileStore) Sweep(ctx context.Context) (int, error) {
	res, err := s.db.db.ExecContext(ctx, `DELETE FROM file_links WHERE expires_at <= $1`, s.db.now())
	if err != nil {
		return 0, wrapErr(err, "postgres: sweep files")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrapErr(err, "postgres: sweep files")
	}
	return int(n), nil
}
