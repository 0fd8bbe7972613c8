//! Custom variables (upstream-spec §7): `variables` merged into an element's `customs`.

use serde_json::{Map, Value};

/// `test1` -> `_TEST1`.
pub fn custom_name(key: &str) -> String {
    format!("_{}", key.to_uppercase())
}

/// Merges `variables` into `current`; returns the new customs and whether anything changed.
///
/// Scalars: set when missing or different; `"__delete__"` removes the variable (really: the
/// original's backend kept it). Lists: a list of objects replaces the old one when a pair
/// differs over the shorter length; a list of scalars replaces the old one when it brings an
/// element the old one lacks (the original's rules: removals and re-ordering are no change).
pub fn merge(
    current: &Map<String, Value>,
    variables: &Map<String, Value>,
) -> (Map<String, Value>, bool) {
    let mut customs = current.clone();
    let mut changed = false;
    for (key, value) in variables {
        let name = custom_name(key);
        let differs = match (value, customs.get(&name)) {
            (Value::String(s), existing) if s == "__delete__" => {
                if existing.is_some() {
                    customs.remove(&name);
                    changed = true;
                }
                continue;
            }
            (_, None) => true,
            (Value::Array(new), Some(Value::Array(old))) => list_differs(new, old),
            (new, Some(old)) => new != old,
        };
        if differs {
            customs.insert(name, value.clone());
            changed = true;
        }
    }
    (customs, changed)
}

fn list_differs(new: &[Value], old: &[Value]) -> bool {
    if !new.is_empty() && new.iter().all(Value::is_object) {
        new.iter().zip(old).any(|(a, b)| a != b)
    } else {
        new.iter().any(|item| !old.contains(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_originals_rules() {
        let current = map(json!({
            "_TEST1": "1", "_TEST2": 2, "_LIST": ["a", "b"], "_OBJS": [{"x": 1}, {"y": 2}]
        }));
        for (variables, expected, changed) in [
            (json!({"test1": "1"}), current.clone(), false),
            (
                json!({"Test1": "one"}),
                map(
                    json!({"_TEST1": "one", "_TEST2": 2, "_LIST": ["a", "b"], "_OBJS": [{"x": 1}, {"y": 2}]}),
                ),
                true,
            ),
            (
                json!({"new_var": true}),
                {
                    let mut m = current.clone();
                    m.insert("_NEW_VAR".into(), json!(true));
                    m
                },
                true,
            ),
            (
                json!({"test2": "__delete__"}),
                {
                    let mut m = current.clone();
                    m.remove("_TEST2");
                    m
                },
                true,
            ),
            (json!({"missing": "__delete__"}), current.clone(), false),
            (json!({"list": ["b"]}), current.clone(), false),
            (json!({"list": ["b", "a"]}), current.clone(), false),
            (
                json!({"list": ["a", "c"]}),
                {
                    let mut m = current.clone();
                    m.insert("_LIST".into(), json!(["a", "c"]));
                    m
                },
                true,
            ),
            (json!({"objs": [{"x": 1}]}), current.clone(), false),
            (
                json!({"objs": [{"x": 2}]}),
                {
                    let mut m = current.clone();
                    m.insert("_OBJS".into(), json!([{"x": 2}]));
                    m
                },
                true,
            ),
            (
                json!({"test2": [2]}),
                {
                    let mut m = current.clone();
                    m.insert("_TEST2".into(), json!([2]));
                    m
                },
                true,
            ),
        ] {
            let (merged, did) = merge(&current, &map(variables.clone()));
            assert_eq!((merged, did), (expected, changed), "{variables}");
        }
    }
}
