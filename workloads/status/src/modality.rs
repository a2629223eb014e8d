//! How ballots were cast.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the ballots of a shard were cast: a shard holds one modality, so results can be reported per modality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Remote,
    Booth,
}

impl Modality {
    pub const ALL: [Modality; 2] = [Self::Remote, Self::Booth];

    /// The modality that is not this one.
    pub fn other(self) -> Self {
        match self {
            Self::Remote => Self::Booth,
            Self::Booth => Self::Remote,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remote => "remote",
            Self::Booth => "booth",
        }
    }
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Modality {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "remote" => Ok(Self::Remote),
            "booth" => Ok(Self::Booth),
            other => Err(format!("unknown modality {other:?} (expected remote or booth)")),
        }
    }
}
