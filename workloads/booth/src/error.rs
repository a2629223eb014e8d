#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("local store: {0}")]
    Store(#[from] redb::Error),
    #[error("message encoding: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the booth is {0}: no ballots until an officer lifts it")]
    Refused(&'static str),
    #[error("ballot: {0}")]
    Ballot(String),
    #[error("the booth has stopped")]
    Stopped,
    #[error("broker: {0}")]
    Broker(#[from] urna_broker::Error),
}

// redb has one error type per operation; all of them fold into `redb::Error`.
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Self::Store(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

pub type Result<T, E = Error> = std::result::Result<T, E>;
