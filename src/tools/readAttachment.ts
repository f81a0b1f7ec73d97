export const readAttachmentTools = [] as const
