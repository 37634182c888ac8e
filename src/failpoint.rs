//! Crash points for tests. Built with the cargo feature `failpoints`, `FAILPOINTS=NAME=return`
//! (the `fail` crate's syntax; several separated by `;`) aborts the process at `hit(NAME)`,
//! leaving what a kill -9 at that step would leave. In other builds `hit` is empty.

/// Abort here when the failpoint `name` is configured; otherwise do nothing.
#[inline(always)]
pub fn hit(name: &str) {
    #[cfg(feature = "failpoints")]
    fail::fail_point!(name, |_| {
        std::process::abort();
    });
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

/// Read `FAILPOINTS` once at start (failpoints builds only). Keep the guard alive for the
/// whole run.
pub fn setup() -> impl Drop {
    #[cfg(feature = "failpoints")]
    {
        fail::FailScenario::setup()
    }
    #[cfg(not(feature = "failpoints"))]
    {
        NoScenario
    }
}

#[cfg(not(feature = "failpoints"))]
pub struct NoScenario;

#[cfg(not(feature = "failpoints"))]
impl Drop for NoScenario {
    fn drop(&mut self) {}
}
