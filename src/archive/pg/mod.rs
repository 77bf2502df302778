//! The PostgreSQL side of the archive: a connection from a DSN (`conn`), the tables and their
//! migrations (`schema`), the sink the archiver writes batches to (`write`), the queries
//! (`query`) and the hub's attached archive (`attached`). See `docs/archive.md`.

pub mod attached;
pub mod conn;
pub mod erase;
pub mod fallthrough;
pub mod query;
pub mod schema;
pub mod write;

pub use self::attached::Attachment;
pub use self::conn::Pg;
pub use self::write::PgSink;
