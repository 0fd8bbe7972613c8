//! The embedded store's schema, in one place: each migration takes the file from the version
//! before it (`PRAGMA user_version`) to the next, so a file made by any earlier version of the
//! module is brought up to date when it is opened.

/// Migration `i` takes the file from version `i` to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the tokens minted by /login, stored as SHA-256 hashes: a copy of the file gives no
    // usable token. Times are Unix milliseconds.
    "CREATE TABLE tokens (
        hash       BLOB    PRIMARY KEY NOT NULL,
        username   TEXT    NOT NULL,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX tokens_by_expiry ON tokens (expires_ms);",
];

/// The schema version this module writes.
pub fn current_version() -> u32 {
    MIGRATIONS.len() as u32
}
