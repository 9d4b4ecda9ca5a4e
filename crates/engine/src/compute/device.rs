//! Where a model's tensors live and its fits run, as a user names it: `cpu`, `cuda` (the first
//! GPU) or `cuda:N`. A binary built without the `cuda` feature, or a machine without that GPU,
//! answers a CUDA choice with an error saying which, so that nothing starts half-working.
use candle_core::Device;

/// A device by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeviceChoice {
    #[default]
    Cpu,
    /// The NVIDIA GPU of this ordinal.
    Cuda(usize),
}

/// Why a device cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("device {0:?}: expected cpu, cuda or cuda:N")]
    Unknown(String),
    #[error(
        "device {0}: this binary was built without the cuda feature (build it with `--features cuda`, see scripts/build-cuda), so it fits on the cpu only"
    )]
    NotBuilt(DeviceChoice),
    #[error("device {choice}: no usable NVIDIA GPU: {reason}")]
    Unavailable { choice: DeviceChoice, reason: String },
}

impl std::str::FromStr for DeviceChoice {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, DeviceError> {
        match s.trim() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| DeviceError::Unknown(s.to_string())),
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl DeviceChoice {
    /// The device, opened: for CUDA, the GPU is found and its context made now.
    pub fn open(self) -> Result<Device, DeviceError> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(n) => open_cuda(self, n),
        }
    }
}

/// Opens GPU `ordinal` through Candle (cudarc). A panic inside the driver bindings becomes an
/// error too: a machine without a usable driver must answer with a reason, never abort.
#[cfg(feature = "cuda-api")]
fn open_cuda(choice: DeviceChoice, ordinal: usize) -> Result<Device, DeviceError> {
    let unavailable = |reason: String| DeviceError::Unavailable { choice, reason };
    match std::panic::catch_unwind(|| Device::new_cuda(ordinal)) {
        Ok(Ok(device)) => Ok(device),
        Ok(Err(e)) => Err(unavailable(describe_cuda_error(&e.to_string()))),
        Err(panic) => {
            let text = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("the CUDA bindings panicked");
            Err(unavailable(describe_cuda_error(text)))
        }
    }
}

/// The driver's error, with what it means where the name alone says little.
#[cfg(feature = "cuda-api")]
fn describe_cuda_error(error: &str) -> String {
    if error.contains("CUDA_ERROR_STUB_LIBRARY") {
        format!("{error} (no NVIDIA driver on this machine: libcuda.so.1 is the link-time stub)")
    } else if error.contains("CUDA_ERROR_NO_DEVICE") {
        format!("{error} (the driver sees no GPU)")
    } else if error.contains("CUDA_ERROR_INVALID_DEVICE") {
        format!("{error} (no GPU of that ordinal)")
    } else {
        error.to_string()
    }
}

#[cfg(not(feature = "cuda-api"))]
fn open_cuda(choice: DeviceChoice, _ordinal: usize) -> Result<Device, DeviceError> {
    Err(DeviceError::NotBuilt(choice))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for (name, choice) in
            [("cpu", DeviceChoice::Cpu), ("cuda", DeviceChoice::Cuda(0)), ("cuda:3", DeviceChoice::Cuda(3))]
        {
            assert_eq!(name.parse::<DeviceChoice>().unwrap(), choice);
        }
        assert_eq!(DeviceChoice::Cuda(0).to_string(), "cuda:0");
        let e = "gpu".parse::<DeviceChoice>().unwrap_err();
        assert_eq!(e.to_string(), "device \"gpu\": expected cpu, cuda or cuda:N");
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn the_cpu_opens_and_cuda_says_why_it_does_not() {
        assert!(DeviceChoice::Cpu.open().unwrap().is_cpu());
        if cfg!(not(feature = "cuda-api")) {
            let e = DeviceChoice::Cuda(0).open().unwrap_err();
            assert!(e.to_string().starts_with("device cuda:0: this binary was built without the cuda feature"), "{e}");
        }
    }

    #[cfg(feature = "cuda-api")]
    #[test]
    fn driver_errors_say_what_they_mean() {
        let stub = describe_cuda_error("DriverError(CUDA_ERROR_STUB_LIBRARY, \"...\")");
        assert!(stub.contains("no NVIDIA driver on this machine"), "{stub}");
        assert!(describe_cuda_error("DriverError(CUDA_ERROR_NO_DEVICE)").ends_with("(the driver sees no GPU)"));
        assert_eq!(describe_cuda_error("out of memory"), "out of memory");
    }

    #[cfg(all(feature = "cuda-api", not(feature = "cuda")))]
    #[test]
    fn without_candles_cuda_build_a_gpu_is_unavailable_not_a_panic() {
        let e = DeviceChoice::Cuda(0).open().unwrap_err();
        assert!(matches!(e, DeviceError::Unavailable { .. }), "{e}");
    }
}
