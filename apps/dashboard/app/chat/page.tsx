import type { Metadata } from "next";
import { ChatEntry } from "../../components/chat/ChatEntry";
import "./chat.css";

export const metadata: Metadata = {
  title: "Chat — Postbox",
  description:
    "Chat through paid mailboxes: see everything you missed while offline, choose and pay mailboxes, and see whether each message was stored and delivered.",
};

export default function ChatPage() {
  return <ChatEntry />;
}
