//! `GET /alignak_logs`: the history, newest first, paged like the backend (`start`, `count`
//! up to 50) and filtered with the original's search syntax (at most `max_search_terms`
//! terms: beyond, 400). What the history keeps is bounded by `history_max_age` and
//! `history_max_entries`: older entries are pruned (`store/retention.rs`).

use std::sync::Arc;

use serde_json::json;

use crate::app::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::query::{pairs, param};
use crate::response::{answer, Envelope, HttpResponse};
use crate::store::model::HistoryQuery;

/// The backend's page size limit.
const MAX_COUNT: u64 = 50;

fn number(value: Option<&str>, key: &str, default: u64) -> Result<u64, ApiError> {
    match value {
        None => Ok(default),
        // A whole number too large for 64 bits is still one: as large as can be (a count is
        // then capped, a start too large refused).
        Some(text)
            if !text.trim().is_empty() && text.trim().bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(text.trim().parse::<u64>().unwrap_or(u64::MAX))
        }
        Some(text) => Err(ApiError::invalid_legacy(format!(
            "The '{key}' parameter must be a whole number, not '{text}'."
        ))),
    }
}

/// One page of a listing as the backend pages it: `start` (default 0) and `count` (default
/// 25, at most 50); `page` is the backend's page number holding `start`.
pub(crate) struct Paging {
    pub count: u64,
    pub page: u64,
}

impl Paging {
    pub(crate) fn offset(&self) -> u64 {
        (self.page - 1) * self.count
    }
}

pub(crate) fn paging(pairs: &[(String, String)]) -> Result<Paging, ApiError> {
    let start = number(param(pairs, "start"), "start", 0)?;
    let count = number(param(pairs, "count"), "count", 25)?;
    if count == 0 {
        return Err(ApiError::invalid_legacy(
            "The 'count' parameter must be at least 1.",
        ));
    }
    let count = count.min(MAX_COUNT);
    // SQLite offsets are signed 64-bit: anything larger is no page of any listing.
    if i64::try_from(start).is_err() {
        return Err(ApiError::invalid_legacy(
            "The 'start' parameter is too large.",
        ));
    }
    Ok(Paging {
        count,
        page: start / count + 1,
    })
}

pub async fn get(app: &App, caller: Caller, query: Option<&str>) -> Result<HttpResponse, ApiError> {
    let pairs = pairs(query);
    let Paging { count, page } = paging(&pairs)?;
    let search = param(&pairs, "search").unwrap_or_default();
    let unknown = crate::search::unknown_fields(search);
    if !unknown.is_empty() {
        return Err(ApiError::invalid_legacy(format!(
            "The search names no searchable field: '{}' (searchable: {}).",
            unknown.join("', '"),
            crate::store::model::HISTORY_FIELDS.join(", ")
        )));
    }
    let history_query = HistoryQuery {
        filters: crate::search::decode(search, app.config.max_search_terms)
            .map_err(|e| ApiError::invalid_legacy(e.to_string()))?,
        offset: (page - 1) * count,
        limit: count,
    };
    // On a read connection of its own: a long search never holds up a write.
    let (items, total) =
        crate::dispatch::run_read(Arc::clone(&app.store), caller, move |session| {
            session.history_documents(&history_query)
        })
        .await?;
    Ok(answer(
        Envelope::ok()
            .meta(json!({"page": page, "max_results": count, "total": total}))
            .with("items", items),
    ))
}
