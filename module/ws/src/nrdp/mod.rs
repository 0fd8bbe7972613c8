//! NRDP 2.0 compatibility: the parameters NRDP's clients send (`send_nrdp.sh`, `send_nrdp.py`,
//! NCPA), their check results in XML or JSON, NRDP's answers and error messages, and the
//! `nrdp_tokens` check. Pure code; `handlers::nrdp` moves requests in and out.

pub mod answer;
pub mod checkresults;
pub mod gate;
pub mod params;
pub mod tokens;

pub use answer::{Format, NrdpError};
pub use checkresults::{CheckResult, ResultTarget};
pub use gate::NrdpGate;
pub use params::Params;
pub use tokens::NrdpTokens;
