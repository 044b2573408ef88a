// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SNARK_SCALAR_FIELD} from "./RegistryConstants.sol";

/// @title BabyJubjub
/// @notice Point validation on Baby Jubjub (EIP-2494), the curve of the provider's EdDSA key.
library BabyJubjub {
    uint256 internal constant A = 168700;
    uint256 internal constant D = 168696;

    /// @notice True if (x, y) is a canonical point of a*x^2 + y^2 = 1 + d*x^2*y^2 other than
    /// the neutral element (0, 1). Subgroup membership is not checked here: the EdDSA verifier
    /// multiplies the key by the cofactor 8 and rejects a result at the neutral element.
    function isValidPublicKey(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= SNARK_SCALAR_FIELD || y >= SNARK_SCALAR_FIELD) return false;
        if (x == 0) return false;
        uint256 p = SNARK_SCALAR_FIELD;
        uint256 xx = mulmod(x, x, p);
        uint256 yy = mulmod(y, y, p);
        uint256 left = addmod(mulmod(A, xx, p), yy, p);
        uint256 right = addmod(1, mulmod(D, mulmod(xx, yy, p), p), p);
        return left == right;
    }
}
