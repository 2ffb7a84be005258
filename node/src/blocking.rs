//! `erl_dist` speaks through `futures`' async I/O traits. Its EPMD client
//! and handshakes run here on a connection's own thread, driven by
//! `block_on`, so a blocking socket behind those traits is all they need:
//! each poll does the blocking call and is ready at once. No async runtime
//! is started, and no scheduler thread ever runs this code.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// A blocking `TcpStream` seen through the async traits.
pub struct Blocking(pub TcpStream);

impl AsyncRead for Blocking {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.get_mut().0.read(buf))
    }
}

impl AsyncWrite for Blocking {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(self.get_mut().0.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.get_mut().0.flush())
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.get_mut().0.shutdown(std::net::Shutdown::Write))
    }
}

/// Runs one of `erl_dist`'s futures to its end on this thread.
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}
