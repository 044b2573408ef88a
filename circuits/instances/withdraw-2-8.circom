pragma circom 2.1.5;

include "../lib/withdraw.circom";

// K = 2 charges beyond the newest base, ticket window W = 8.
component main {public [recipient]} = Withdraw(2, 8);
