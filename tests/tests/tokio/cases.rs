//! The cases, each run by the suite on a thread inside a network namespace
//! of its own (their set-up is in setup.rs).

use std::net::SocketAddr;
use std::os::fd::{AsFd as _, AsRawFd as _};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::io::Interest;
use tokio::runtime::Builder;
use utun::ErrorKind;
use utun_tests::suite::Case;

use crate::setup::{
    AsyncDevice, PEER, in_an_epoll_set, queue_and_read, recv_after_waiting, register, run, udp_from_peer, with_device,
};

/// Every case, by name.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("recv_waits_for_a_packet_and_send_delivers_one", recv_waits_for_a_packet_and_send_delivers_one as Case),
        ("try_recv_without_a_packet_would_block", try_recv_without_a_packet_would_block),
        ("recv_into_an_empty_buffer_is_invalid_input_at_once", recv_into_an_empty_buffer_is_invalid_input_at_once),
        ("a_recv_dropped_while_waiting_loses_no_packet", a_recv_dropped_while_waiting_loses_no_packet),
        ("a_reader_task_and_a_writer_share_the_device", a_reader_task_and_a_writer_share_the_device),
        ("deleting_the_interface_ends_a_waiting_recv", deleting_the_interface_ends_a_waiting_recv),
        (
            "a_busy_reader_leaves_the_reactor_and_a_waiting_one_comes_back",
            a_busy_reader_leaves_the_reactor_and_a_waiting_one_comes_back,
        ),
        (
            "two_readers_on_a_multi_thread_runtime_get_every_packet_through_releases_and_waits",
            two_readers_on_a_multi_thread_runtime_get_every_packet_through_releases_and_waits,
        ),
        (
            "a_registration_a_waiting_call_holds_outlives_a_release",
            a_registration_a_waiting_call_holds_outlives_a_release,
        ),
        ("registering_again_sees_a_packet_that_came_in_between", registering_again_sees_a_packet_that_came_in_between),
        (
            "the_device_registers_again_with_the_runtime_it_was_made_in",
            the_device_registers_again_with_the_runtime_it_was_made_in,
        ),
    ]
}

fn recv_waits_for_a_packet_and_send_delivers_one() -> Result<()> {
    run(|dev, socket, rt| {
        let mut buf = [0u8; 1500];
        // recv finds nothing, waits for readiness; the datagram sent
        // after it started waiting wakes it.
        let (n, sent) = rt.block_on(async {
            tokio::join!(dev.recv(&mut buf), async {
                tokio::task::yield_now().await;
                socket.send_to(b"to the peer", (PEER, 9))
            })
        });
        let n = n.expect("a packet");
        sent.expect("sent");
        assert_eq!(buf[0] >> 4, 4);
        assert_eq!(&buf[n - 11..n], b"to the peer");
        // A packet written into the device reaches the local socket.
        let packet = udp_from_peer(socket.local_addr().expect("bound"), b"from the peer");
        assert_eq!(rt.block_on(dev.send(&packet)).expect("written"), packet.len());
        let mut got = [0u8; 64];
        let (len, from) = socket.recv_from(&mut got).expect("delivered");
        assert_eq!((&got[..len], from), (&b"from the peer"[..], SocketAddr::from((PEER, 9))));
    })
}

fn try_recv_without_a_packet_would_block() -> Result<()> {
    run(|dev, _socket, _rt| {
        let mut buf = [0u8; 1500];
        assert_eq!(dev.try_recv(&mut buf).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock));
    })
}

fn recv_into_an_empty_buffer_is_invalid_input_at_once() -> Result<()> {
    run(|dev, socket, rt| {
        // Nothing waits: an error at once, not a wait, not BufferTooSmall.
        let got = rt.block_on(tokio::time::timeout(Duration::from_secs(1), dev.recv(&mut [])));
        assert_eq!(got.expect("at once").map_err(|e| e.kind()), Err(ErrorKind::InvalidInput));
        // A packet waits: still an error, and the packet is still there.
        socket.send_to(b"kept", (PEER, 9)).expect("sent");
        assert_eq!(rt.block_on(dev.recv(&mut [])).map_err(|e| e.kind()), Err(ErrorKind::InvalidInput));
        let mut buf = [0u8; 1500];
        let n = rt.block_on(dev.recv(&mut buf)).expect("the packet");
        assert_eq!(&buf[n - 4..n], b"kept");
    })
}

fn a_recv_dropped_while_waiting_loses_no_packet() -> Result<()> {
    run(|dev, socket, rt| {
        let mut buf = [0u8; 1500];
        rt.block_on(async {
            // The recv starts waiting, then loses the race and is dropped.
            tokio::select! {
                biased;
                _ = dev.recv(&mut buf) => panic!("no packet was sent yet"),
                _ = tokio::task::yield_now() => {}
            }
        });
        socket.send_to(b"after the drop", (PEER, 9)).expect("sent");
        let n = rt.block_on(dev.recv(&mut buf)).expect("the packet");
        assert_eq!(&buf[n - 14..n], b"after the drop");
    })
}

fn a_reader_task_and_a_writer_share_the_device() -> Result<()> {
    run(|dev, socket, rt| {
        let dev = Arc::new(dev);
        let reader = Arc::clone(&dev);
        let local = socket.local_addr().expect("bound");
        rt.block_on(async move {
            let reading = tokio::spawn(async move {
                let mut buf = [0u8; 1500];
                let mut seen = 0;
                while seen < 3 {
                    let n = reader.recv(&mut buf).await.expect("a packet");
                    if &buf[n - 4..n] == b"ping" {
                        seen += 1;
                    }
                }
            });
            for _ in 0..3 {
                socket.send_to(b"ping", (PEER, 9)).expect("sent");
                let packet = udp_from_peer(local, b"pong");
                dev.send(&packet).await.expect("written");
                tokio::task::yield_now().await;
            }
            reading.await.expect("the reader finished");
            let mut got = [0u8; 8];
            for _ in 0..3 {
                let (len, _) = socket.recv_from(&mut got).expect("delivered");
                assert_eq!(&got[..len], b"pong");
            }
        });
    })
}

fn deleting_the_interface_ends_a_waiting_recv() -> Result<()> {
    run(|dev, _socket, rt| {
        let name = dev.get_ref().name();
        let mut buf = [0u8; 1500];
        let result = rt.block_on(async {
            tokio::join!(dev.recv(&mut buf), async {
                tokio::task::yield_now().await;
                // The kernel reports a deleted tun's descriptor only as
                // EPOLLERR: a waiter that wanted READABLE alone would hang.
                let status = std::process::Command::new("ip").args(["link", "del", name.as_str()]).status();
                assert!(status.is_ok_and(|s| s.success()), "ip link del {}", name.as_str());
            })
            .0
        });
        assert!(result.is_err(), "{result:?}");
    })
}

fn a_busy_reader_leaves_the_reactor_and_a_waiting_one_comes_back() -> Result<()> {
    run(|dev, socket, rt| {
        let fd = dev.as_raw_fd();
        assert!(dev.is_registered() && in_an_epoll_set(fd), "registered by new");
        let mut buf = [0u8; 1500];
        // Packets already queued: every recv finds one waiting.
        let queued = AsyncDevice::RELEASE_AFTER as usize + 10;
        for i in 0..queued {
            socket.send_to(&(i as u32).to_be_bytes(), (PEER, 9)).expect("sent");
        }
        for i in 0..queued {
            let n = rt.block_on(dev.recv(&mut buf)).expect("a queued packet");
            assert_eq!(&buf[n - 4..n], &(i as u32).to_be_bytes(), "in order, none lost");
            let left = i + 1 >= AsyncDevice::RELEASE_AFTER as usize;
            assert_eq!(dev.is_registered(), !left, "after {} reads", i + 1);
            assert_eq!(in_an_epoll_set(fd), !left, "the kernel's epoll set after {} reads", i + 1);
        }
        // Nothing queued: the next recv registers again, waits, and is
        // woken by the packet sent while it waits.
        let (n, seen) = rt.block_on(async {
            tokio::join!(dev.recv(&mut buf), async {
                tokio::task::yield_now().await;
                let seen = (dev.is_registered(), in_an_epoll_set(fd));
                socket.send_to(b"wake", (PEER, 9)).expect("sent");
                seen
            })
        });
        assert_eq!(seen, (true, true), "registered while waiting");
        let n = n.expect("the packet sent while it waited");
        assert_eq!(&buf[n - 4..n], b"wake");
        assert!(dev.is_registered() && in_an_epoll_set(fd), "stays registered after a wait");
        // Taking the device back deregisters it (its descriptor stays open).
        let device = dev.into_inner();
        assert_eq!(device.as_raw_fd(), fd);
        assert!(!in_an_epoll_set(fd), "deregistered by into_inner");
    })
}

fn two_readers_on_a_multi_thread_runtime_get_every_packet_through_releases_and_waits() -> Result<()> {
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(2);
    with_device(builder, |dev, socket, rt| {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dev = Arc::new(dev);
        let received = Arc::new(AtomicUsize::new(0));
        let released = Arc::new(AtomicUsize::new(0));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (dev, received, released) = (Arc::clone(&dev), Arc::clone(&received), Arc::clone(&released));
                rt.spawn(async move {
                    let mut buf = [0u8; 1500];
                    loop {
                        let n = dev.recv(&mut buf).await.expect("a packet");
                        if &buf[n - 4..n] == b"stop" {
                            return;
                        }
                        received.fetch_add(1, Ordering::SeqCst);
                        if !dev.is_registered() {
                            released.fetch_add(1, Ordering::SeqCst);
                        }
                        // Slower than the sender, so that a burst queues
                        // up and the readers find packets waiting.
                        std::thread::sleep(Duration::from_micros(50));
                    }
                })
            })
            .collect();
        // Bursts of every size around the release threshold, each
        // drained before the next: the readers keep crossing between
        // waiting (registered) and streaking (released).
        let mut sent = 0;
        for burst in [1, 200, 3, 64, 65, 1, 1, 130, 2, 90, 1, 300, 5] {
            for _ in 0..burst {
                socket.send_to(b"data", (PEER, 9)).expect("sent");
            }
            sent += burst;
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while received.load(Ordering::SeqCst) < sent {
                assert!(std::time::Instant::now() < deadline, "{} of {sent} packets", received.load(Ordering::SeqCst));
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        assert_eq!(received.load(Ordering::SeqCst), sent, "no packet lost or read twice");
        assert!(released.load(Ordering::SeqCst) > 0, "the long bursts released the registration");
        for _ in 0..2 {
            socket.send_to(b"stop", (PEER, 9)).expect("sent");
        }
        rt.block_on(async {
            for reader in readers {
                tokio::time::timeout(Duration::from_secs(5), reader)
                    .await
                    .expect("both readers were woken for their last packet")
                    .expect("the reader finished");
            }
        });
    })
}

fn a_registration_a_waiting_call_holds_outlives_a_release() -> Result<()> {
    run(|dev, socket, rt| {
        use std::future::Future as _;
        use std::task::{Context, Poll, Waker};
        let fd = dev.as_raw_fd();
        // A recv that waits (polled once, then left pending) holds the registration.
        let mut parked_buf = [0u8; 1500];
        let mut parked = Box::pin(dev.recv(&mut parked_buf));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(parked.as_mut().poll(&mut cx).is_pending(), "nothing queued yet");
        // Another caller's busy streak releases it, but the waiting call
        // keeps it registered.
        queue_and_read(&dev, &socket, rt, AsyncDevice::RELEASE_AFTER as usize);
        assert!(dev.is_registered() && in_an_epoll_set(fd), "still held by the waiting recv");
        // A call that now has to wait uses that registration (registering
        // the descriptor a second time would fail with EEXIST) and is woken.
        recv_after_waiting(&dev, &socket, rt).expect("woken through the held registration");
        match parked.as_mut().poll(&mut cx) {
            Poll::Pending => {}
            Poll::Ready(result) => panic!("the parked recv got {result:?}; the packet was the other call's"),
        }
        drop(parked);
        assert!(dev.is_registered() && in_an_epoll_set(fd), "wanted by the last wait");
    })
}

/// The device registers again only when a call is about to wait, after its
/// own read found nothing; a packet can come in between, while no epoll
/// callback runs for the descriptor. The registration must report it. The
/// library's registration path is private, so this registers the released
/// descriptor the way the device does (tokio's `AsyncFd`, on the reactor
/// the device belongs to, for reading, writing and errors) and waits the
/// way a `recv` does (readable or error).
fn registering_again_sees_a_packet_that_came_in_between() -> Result<()> {
    run(|dev, socket, rt| {
        let fd = dev.as_raw_fd();
        queue_and_read(&dev, &socket, rt, AsyncDevice::RELEASE_AFTER as usize);
        assert!(!dev.is_registered(), "released");
        assert!(!in_an_epoll_set(fd), "out of the kernel's epoll set");
        // A packet arrives while the device is not registered: no epoll
        // callback runs for it. Registering afterwards must still report it.
        socket.send_to(b"between", (PEER, 9)).expect("sent");
        let everything = Interest::READABLE.add(Interest::WRITABLE).add(Interest::ERROR);
        let held = register(dev.as_fd(), everything).expect("registered again");
        let ready = rt.block_on(tokio::time::timeout(
            Duration::from_secs(2),
            held.ready(Interest::READABLE.add(Interest::ERROR)),
        ));
        let ready = ready.expect("readable at once, not after a timeout").expect("no reactor error");
        assert!(ready.ready().is_readable());
        drop(ready);
        drop(held);
        assert!(!in_an_epoll_set(fd), "the stand-in registration is gone");
        // The packet is still the device's: nothing above read it.
        let mut buf = [0u8; 1500];
        let n = rt.block_on(dev.recv(&mut buf)).expect("the packet");
        assert_eq!(&buf[n - 7..n], b"between");
    })
}

fn the_device_registers_again_with_the_runtime_it_was_made_in() -> Result<()> {
    run(|dev, socket, other| {
        // Made again in a runtime of its own, used from `other`.
        let device = dev.into_inner();
        let home = Builder::new_multi_thread().worker_threads(1).enable_all().build();
        let home = home.expect("a runtime");
        let dev = {
            let _in_home = home.enter();
            AsyncDevice::new(device).expect("registered")
        };
        // Released, then registered again for a wait on `other`: woken,
        // since `home` is running.
        queue_and_read(&dev, &socket, other, AsyncDevice::RELEASE_AFTER as usize);
        assert!(!dev.is_registered());
        recv_after_waiting(&dev, &socket, other).expect("woken");
        // Once `home` has shut down, a wait has no reactor to register
        // with: an error, although `other` is running.
        drop(home);
        queue_and_read(&dev, &socket, other, AsyncDevice::RELEASE_AFTER as usize);
        assert!(!dev.is_registered());
        let err = recv_after_waiting(&dev, &socket, other).expect_err("home has shut down");
        assert!(err.to_string().contains("registering with the tokio reactor"), "{err}");
    })
}
