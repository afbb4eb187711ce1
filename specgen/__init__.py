"""specgen: Triton Inference Server as native Azure Linux 3.0 RPM packages."""

__version__ = "0.1.0"
