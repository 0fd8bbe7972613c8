//! What `/host` must know of the core's own objects (`objects_dir`): implemented by
//! `core_objects::CoreObjects`, which reads the core's object cache. A trait here so the
//! algorithm depends on the question, not on the room that answers it.

pub trait CoreCatalog: Send + Sync {
    /// The core has loaded this host.
    fn core_knows_host(&self, host: &str) -> bool;
    /// The core has loaded this service of `host`.
    fn core_knows_service(&self, host: &str, service: &str) -> bool;
    /// The core's object (the host's, or its service's) has this custom variable.
    fn core_has_variable(&self, host: &str, service: Option<&str>, name: &str) -> bool;
    /// The module wrote this object (its file names it).
    fn written(&self, host: &str, service: Option<&str>) -> bool;
}
