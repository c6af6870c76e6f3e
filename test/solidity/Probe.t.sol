// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;
import {Probe} from "../../contracts/Probe.sol";
contract ProbeTest { function test_inc() public { Probe p = new Probe(); p.inc(); require(p.x() == 1, "x"); } 
 function testFuzz_x(uint8 n) public { Probe p = new Probe(); for (uint i; i<n%4; i++) p.inc(); require(p.x()==n%4,"y"); } }
