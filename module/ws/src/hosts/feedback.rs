//! `_feedback`: the element's name and the fields listed in `feedback_host` /
//! `feedback_service`, read from its stored document.

use serde_json::{Map, Value};

use crate::store::model::Element;

pub fn feedback(element: &Element, fields: &[String]) -> Map<String, Value> {
    let doc = element.document();
    let mut feedback = Map::new();
    feedback.insert("name".into(), Value::from(element.name.clone()));
    for field in fields {
        if let Some(value) = doc.get(field) {
            feedback.insert(field.clone(), value.clone());
        }
    }
    feedback
}
