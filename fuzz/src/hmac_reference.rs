//! HMAC-SHA256 written from RFC 2104 over `sha2`, sharing nothing with the core's aws-lc-rs
//! HMAC: the reference the `token` target signs with and checks accepted signatures against.

use sha2::{Digest, Sha256};
use std::sync::Once;

const BLOCK_LEN: usize = 64;

/// HMAC-SHA256 of `message` under `key` (RFC 2104: keys longer than a block are hashed first).
#[must_use]
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    self_test();
    keyed(key, message)
}

fn keyed(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK_LEN];
    if key.len() > BLOCK_LEN {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// RFC 4231 test cases 2 (short key) and 6 (a key longer than the block), once per process,
/// so a broken reference cannot silently agree with anything.
fn self_test() {
    static CHECKED: Once = Once::new();
    CHECKED.call_once(|| {
        assert_eq!(
            hex(&keyed(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&keyed(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    });
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
