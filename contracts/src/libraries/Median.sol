// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Median of a few signed values
/// @notice Sorts a memory copy (insertion sort: the router caps answers at 16) and returns the middle value, or for
/// an even count the mean of the two middle values rounded toward zero.
library Median {
    /// @notice The median of `values`, which must not be empty.
    function compute(int256[] memory values) internal pure returns (int256) {
        uint256 n = values.length;
        for (uint256 i = 1; i < n; ++i) {
            int256 v = values[i];
            uint256 j = i;
            while (j > 0 && values[j - 1] > v) {
                values[j] = values[j - 1];
                --j;
            }
            values[j] = v;
        }
        if (n % 2 == 1) return values[n / 2];
        return mean(values[n / 2 - 1], values[n / 2]);
    }

    /// @notice `(a + b) / 2` rounded toward zero, without overflow.
    function mean(int256 a, int256 b) internal pure returns (int256) {
        // Halve each side (truncating toward zero), then settle the two dropped halves: `rest` is -2..2 halves.
        int256 halves = a / 2 + b / 2;
        int256 rest = a % 2 + b % 2;
        if (rest == 2 || rest == -2) return halves + rest / 2;
        if (rest == 1) return halves < 0 ? halves + 1 : halves;
        if (rest == -1) return halves > 0 ? halves - 1 : halves;
        return halves;
    }
}
