import type { SVGProps } from "react";

// A handful of 20px stroke icons drawn here: an icon library would be a large dependency for a dozen glyphs.
function make(path: string) {
  return function Icon(props: SVGProps<SVGSVGElement>) {
    return (
      <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth={1.75} strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" className="size-4" {...props}>
        <path d={path} />
      </svg>
    );
  };
}

export const IconJobs = make("M13 2 4 14h7l-1 8 9-12h-7l1-8z");
export const IconBilling = make("M3 7h18v10H3zM3 11h18M7 15h3");
export const IconKey = make("M15 7a4 4 0 1 1-3.9 4.9L4 19v2h3v-2h2v-2h2l1.1-1.1A4 4 0 0 1 15 7zm1 2h.01");
export const IconPlug = make("M9 2v5M15 2v5M6 7h12v4a6 6 0 0 1-12 0zM12 17v5");
export const IconWebhook = make("M10 13a3 3 0 1 0-2.6 4.5M14 11a3 3 0 1 0 2.6-4.5M6 17h6l3-5M18 17a3 3 0 1 1-3 3M9 8l3 5");
export const IconUsers = make("M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1M9.5 10a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM21 19v-1a4 4 0 0 0-3-3.9M15.5 3.1a3.5 3.5 0 0 1 0 6.8");
export const IconLogout = make("M15 17l5-5-5-5M20 12H9M12 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h7");
export const IconMenu = make("M4 6h16M4 12h16M4 18h16");
export const IconPlus = make("M12 5v14M5 12h14");
export const IconTrash = make("M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3");
export const IconCopy = make("M9 9h11v11H9zM5 15H4V4h11v1");
export const IconX = make("M6 6l12 12M18 6 6 18");
export const IconCheck = make("M5 12l5 5L20 7");
export const IconChevrons = make("M8 9l4-4 4 4M8 15l4 4 4-4");
export const IconAlert = make("M12 9v4M12 17h.01M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z");
export const IconTable = make("M3 5h18v14H3zM3 10h18M3 15h18M9 5v14");
export const IconSettings = make("M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z");
export const IconUpload = make("M12 16V4M7 9l5-5 5 5M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3");
export const IconDownload = make("M12 4v12M7 11l5 5 5-5M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3");
export const IconSearch = make("M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM20 20l-4-4");
export const IconUndo = make("M9 14 4 9l5-5M4 9h11a5 5 0 0 1 0 10h-3");
export const IconRedo = make("M15 14l5-5-5-5M20 9H9a5 5 0 0 0 0 10h3");
export const IconMore = make("M5 12h.01M12 12h.01M19 12h.01");
export const IconEye = make("M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12zM12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z");
export const IconMerge = make("M7 4v4a5 5 0 0 0 5 5h0a5 5 0 0 1 5 5v2M17 4v4a5 5 0 0 1-5 5M4 7l3-3 3 3");
export const IconArrowLeft = make("M19 12H5M12 19l-7-7 7-7");
export const IconMail = make("M3 6h18v12H3zM3 7l9 6 9-6");
export const IconCloudUp = make("M7 18a4.5 4.5 0 0 1-.9-8.9A6 6 0 0 1 17.7 8 4.5 4.5 0 0 1 17 18M12 12v8M9 15l3-3 3 3");
