//! HTTP GET for the downloads of named data sets, with bounded bodies. The only code that knows
//! the HTTP client; a WebAssembly build has none (a page never downloads data sets), and says so.

/// Why a download failed.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// DNS, connection or TLS failure: the host will not answer the next file either.
    Unreachable(String),
    /// The host answered with something unusable.
    Failed(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Unreachable(m) | FetchError::Failed(m) => f.write_str(m),
        }
    }
}

/// A client with the timeouts every download uses.
pub(crate) struct Client {
    #[cfg(not(target_arch = "wasm32"))]
    agent: ureq::Agent,
}

#[cfg(not(target_arch = "wasm32"))]
impl Client {
    pub(crate) fn new() -> Self {
        use std::time::Duration;
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(60))
            .user_agent(concat!("vae/", env!("CARGO_PKG_VERSION")))
            .build();
        Client { agent }
    }

    /// The body of `url`, refused when it is longer than `max` bytes.
    pub(crate) fn get(&self, url: &str, max: u64) -> Result<Vec<u8>, FetchError> {
        use std::io::Read;
        let response = self.agent.get(url).call().map_err(|e| match e {
            ureq::Error::Status(code, _) => FetchError::Failed(format!("HTTP {code}")),
            ureq::Error::Transport(t) => FetchError::Unreachable(t.to_string()),
        })?;
        let mut body = Vec::new();
        response
            .into_reader()
            .take(max + 1)
            .read_to_end(&mut body)
            .map_err(|e| FetchError::Failed(format!("reading the body: {e}")))?;
        if body.len() as u64 > max {
            return Err(FetchError::Failed(format!("larger than {max} bytes")));
        }
        Ok(body)
    }
}

#[cfg(target_arch = "wasm32")]
impl Client {
    pub(crate) fn new() -> Self {
        Client {}
    }

    pub(crate) fn get(&self, _url: &str, _max: u64) -> Result<Vec<u8>, FetchError> {
        Err(FetchError::Unreachable(
            "this WebAssembly build of vae does not download".into(),
        ))
    }
}
