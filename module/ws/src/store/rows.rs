//! The embedded store's documents, shaped from its rows: what `GET /host/<name>`,
//! `/hostgroup` and `/alignak_logs` show, backend-shaped. The Alignak backend has documents of
//! its own and implements `Documents` directly.

use serde_json::{json, Map, Value};

use super::model::{Element, HistoryEntry, HistoryPage, HistoryQuery, Hostgroup};
use super::{Documents, Lookups, StoreError};

/// What a store keeps as rows, for `Documents` to shape.
pub(super) trait Rows: Lookups {
    /// Every host naming `group` in its `hostgroups` field.
    fn hosts_in_group(&mut self, group: &str) -> Result<Vec<Element>, StoreError>;
    fn hostgroups(&mut self, name: Option<&str>) -> Result<Vec<Hostgroup>, StoreError>;
    /// `Documents::host_page`, already shaped.
    fn host_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError>;
    /// Newest first.
    fn history(&mut self, query: &HistoryQuery) -> Result<HistoryPage, StoreError>;
}

impl<S: Rows> Documents for S {
    fn host_documents(&mut self, name: &str) -> Result<Vec<Map<String, Value>>, StoreError> {
        let Some(host) = self.host(name)? else {
            return Ok(Vec::new());
        };
        let services: Vec<Value> = self
            .services(host.id)?
            .iter()
            .map(|s| Value::Object(s.document()))
            .collect();
        let mut doc = host.document();
        doc.insert("services".into(), Value::Array(services));
        Ok(vec![doc])
    }

    fn host_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError> {
        Rows::host_page(self, offset, limit)
    }

    /// Declared members first, then stored hosts naming the group, each once.
    fn hostgroup_documents(
        &mut self,
        name: Option<&str>,
        embedded: bool,
    ) -> Result<Vec<Map<String, Value>>, StoreError> {
        let alias_of = |host: &Element| {
            host.fields
                .get("alias")
                .and_then(Value::as_str)
                .map_or_else(|| host.name.clone(), String::from)
        };
        let mut out = Vec::new();
        for group in self.hostgroups(name)? {
            let mut hosts: Vec<(String, String)> = Vec::new();
            for member in &group.members {
                let alias = self
                    .host(member)?
                    .map_or_else(|| member.clone(), |h| alias_of(&h));
                hosts.push((member.clone(), alias));
            }
            for host in self.hosts_in_group(&group.name)? {
                if !hosts.iter().any(|(n, _)| *n == host.name) {
                    let alias = alias_of(&host);
                    hosts.push((host.name, alias));
                }
            }
            let mut doc = group.document();
            doc.insert("notes".into(), json!(""));
            doc.insert("_level".into(), json!(1));
            doc.insert("hostgroups".into(), json!([]));
            let hosts: Vec<Value> = hosts
                .into_iter()
                .map(|(name, alias)| {
                    if embedded {
                        json!({"name": name, "alias": alias})
                    } else {
                        json!(name)
                    }
                })
                .collect();
            doc.insert("hosts".into(), Value::Array(hosts));
            let realm = if embedded {
                json!({"name": "All", "alias": "All"})
            } else {
                json!("All")
            };
            doc.insert("_realm".into(), realm);
            out.push(doc);
        }
        Ok(out)
    }

    fn history_documents(
        &mut self,
        query: &HistoryQuery,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError> {
        let page = self.history(query)?;
        Ok((
            page.items.iter().map(HistoryEntry::document).collect(),
            page.total,
        ))
    }
}
