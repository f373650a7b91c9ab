//! Running a server client's async calls behind the synchronous store
//! traits: each store owns a one-thread runtime, and a call blocks on it
//! from a scoped thread, so it may be made from inside another runtime's
//! task (a reindex) or from a blocking thread (a query).

use std::future::Future;

pub struct Blocking {
    rt: Option<tokio::runtime::Runtime>,
}

impl Blocking {
    pub fn new(name: &str) -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .enable_all()
            .build()?;
        Ok(Self { rt: Some(rt) })
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("the runtime lives as long as the store")
    }

    /// Enters the runtime (for clients that spawn tasks when built).
    pub fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.rt().enter()
    }

    /// Runs `f` to completion on the store's runtime.
    pub fn run<F: Future + Send>(&self, f: F) -> F::Output
    where
        F::Output: Send,
    {
        let rt = self.rt();
        std::thread::scope(|s| s.spawn(|| rt.block_on(f)).join().expect("a store call panicked"))
    }
}

impl Drop for Blocking {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime's task would panic.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
