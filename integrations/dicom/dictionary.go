package dicom

// implicitVR is the part of the PS3.6 data dictionary that implicit VR
// transfer syntaxes need for the attributes a clinical archive reads: the
// patient, study, series and instance identifiers, the image pixel module,
// the request attributes and the code sequence items. An element whose tag
// is not listed here (and not covered by lookupVR's rules) is read as UN:
// its raw bytes are kept, and Element.Strings has nothing to say about it.
// Where PS3.6 allows two VRs (US or SS, OB or OW), the entry holds the one
// implicit VR little endian uses.
var implicitVR = map[Tag]VR{
	0x00080005: VRCS, // SpecificCharacterSet
	0x00080008: VRCS, // ImageType
	0x00080012: VRDA, // InstanceCreationDate
	0x00080013: VRTM, // InstanceCreationTime
	0x00080014: VRUI, // InstanceCreatorUID
	0x00080016: VRUI, // SOPClassUID
	0x00080018: VRUI, // SOPInstanceUID
	0x00080020: VRDA, // StudyDate
	0x00080021: VRDA, // SeriesDate
	0x00080022: VRDA, // AcquisitionDate
	0x00080023: VRDA, // ContentDate
	0x0008002A: VRDT, // AcquisitionDateTime
	0x00080030: VRTM, // StudyTime
	0x00080031: VRTM, // SeriesTime
	0x00080032: VRTM, // AcquisitionTime
	0x00080033: VRTM, // ContentTime
	0x00080050: VRSH, // AccessionNumber
	0x00080051: VRSQ, // IssuerOfAccessionNumberSequence
	0x00080052: VRCS, // QueryRetrieveLevel
	0x00080054: VRAE, // RetrieveAETitle
	0x00080056: VRCS, // InstanceAvailability
	0x00080060: VRCS, // Modality
	0x00080061: VRCS, // ModalitiesInStudy
	0x00080062: VRUI, // SOPClassesInStudy
	0x00080064: VRCS, // ConversionType
	0x00080068: VRCS, // PresentationIntentType
	0x00080070: VRLO, // Manufacturer
	0x00080080: VRLO, // InstitutionName
	0x00080081: VRST, // InstitutionAddress
	0x00080090: VRPN, // ReferringPhysicianName
	0x00080092: VRST, // ReferringPhysicianAddress
	0x00080094: VRSH, // ReferringPhysicianTelephoneNumbers
	0x00080100: VRSH, // CodeValue
	0x00080102: VRSH, // CodingSchemeDesignator
	0x00080103: VRSH, // CodingSchemeVersion
	0x00080104: VRLO, // CodeMeaning
	0x00080105: VRCS, // MappingResource
	0x00080106: VRDT, // ContextGroupVersion
	0x0008010F: VRCS, // ContextIdentifier
	0x00080119: VRUC, // LongCodeValue
	0x00080120: VRUR, // URNCodeValue
	0x00080201: VRSH, // TimezoneOffsetFromUTC
	0x00080309: VRUL, // PrivateDataElementValueMultiplicity
	0x00081010: VRSH, // StationName
	0x00081030: VRLO, // StudyDescription
	0x00081032: VRSQ, // ProcedureCodeSequence
	0x0008103E: VRLO, // SeriesDescription
	0x00081040: VRLO, // InstitutionalDepartmentName
	0x00081048: VRPN, // PhysiciansOfRecord
	0x00081050: VRPN, // PerformingPhysicianName
	0x00081060: VRPN, // NameOfPhysiciansReadingStudy
	0x00081070: VRPN, // OperatorsName
	0x00081080: VRLO, // AdmittingDiagnosesDescription
	0x00081090: VRLO, // ManufacturerModelName
	0x00081110: VRSQ, // ReferencedStudySequence
	0x00081111: VRSQ, // ReferencedPerformedProcedureStepSequence
	0x00081115: VRSQ, // ReferencedSeriesSequence
	0x00081120: VRSQ, // ReferencedPatientSequence
	0x00081140: VRSQ, // ReferencedImageSequence
	0x00081150: VRUI, // ReferencedSOPClassUID
	0x00081155: VRUI, // ReferencedSOPInstanceUID
	0x00081160: VRIS, // ReferencedFrameNumber
	0x00081163: VRFD, // TimeRange
	0x00082111: VRST, // DerivationDescription
	0x00082112: VRSQ, // SourceImageSequence
	0x00082218: VRSQ, // AnatomicRegionSequence
	0x00100010: VRPN, // PatientName
	0x00100020: VRLO, // PatientID
	0x00100021: VRLO, // IssuerOfPatientID
	0x00100022: VRCS, // TypeOfPatientID
	0x00100024: VRSQ, // IssuerOfPatientIDQualifiersSequence
	0x00100030: VRDA, // PatientBirthDate
	0x00100032: VRTM, // PatientBirthTime
	0x00100040: VRCS, // PatientSex
	0x00101001: VRPN, // OtherPatientNames
	0x00101002: VRSQ, // OtherPatientIDsSequence
	0x00101005: VRPN, // PatientBirthName
	0x00101010: VRAS, // PatientAge
	0x00101020: VRDS, // PatientSize
	0x00101030: VRDS, // PatientWeight
	0x00101040: VRLO, // PatientAddress
	0x00101060: VRPN, // PatientMotherBirthName
	0x00102154: VRSH, // PatientTelephoneNumbers
	0x00102160: VRSH, // EthnicGroup
	0x00102180: VRSH, // Occupation
	0x001021B0: VRLT, // AdditionalPatientHistory
	0x00102297: VRPN, // ResponsiblePerson
	0x00104000: VRLT, // PatientComments
	0x00180015: VRCS, // BodyPartExamined
	0x00180020: VRCS, // ScanningSequence
	0x00180021: VRCS, // SequenceVariant
	0x00180022: VRCS, // ScanOptions
	0x00180023: VRCS, // MRAcquisitionType
	0x00180050: VRDS, // SliceThickness
	0x00180060: VRDS, // KVP
	0x00180080: VRDS, // RepetitionTime
	0x00180081: VRDS, // EchoTime
	0x00180082: VRDS, // InversionTime
	0x00180083: VRDS, // NumberOfAverages
	0x00180084: VRDS, // ImagingFrequency
	0x00180087: VRDS, // MagneticFieldStrength
	0x00180088: VRDS, // SpacingBetweenSlices
	0x00180090: VRDS, // DataCollectionDiameter
	0x00180091: VRIS, // EchoTrainLength
	0x00181000: VRLO, // DeviceSerialNumber
	0x00181020: VRLO, // SoftwareVersions
	0x00181030: VRLO, // ProtocolName
	0x00181100: VRDS, // ReconstructionDiameter
	0x00181110: VRDS, // DistanceSourceToDetector
	0x00181111: VRDS, // DistanceSourceToPatient
	0x00181120: VRDS, // GantryDetectorTilt
	0x00181130: VRDS, // TableHeight
	0x00181140: VRCS, // RotationDirection
	0x00181150: VRIS, // ExposureTime
	0x00181151: VRIS, // XRayTubeCurrent
	0x00181152: VRIS, // Exposure
	0x00181160: VRSH, // FilterType
	0x00181170: VRIS, // GeneratorPower
	0x00181190: VRDS, // FocalSpots
	0x00181210: VRSH, // ConvolutionKernel
	0x00181310: VRUS, // AcquisitionMatrix
	0x00181314: VRDS, // FlipAngle
	0x00181320: VRFL, // B1rms
	0x00181638: VROF, // VerticesOfThePolygonalOutline
	0x00185100: VRCS, // PatientPosition
	0x00185101: VRCS, // ViewPosition
	0x00186020: VRSL, // ReferencePixelX0
	0x00189219: VRSS, // TagAngleSecondAxis
	0x0020000D: VRUI, // StudyInstanceUID
	0x0020000E: VRUI, // SeriesInstanceUID
	0x00200010: VRSH, // StudyID
	0x00200011: VRIS, // SeriesNumber
	0x00200012: VRIS, // AcquisitionNumber
	0x00200013: VRIS, // InstanceNumber
	0x00200020: VRCS, // PatientOrientation
	0x00200032: VRDS, // ImagePositionPatient
	0x00200037: VRDS, // ImageOrientationPatient
	0x00200052: VRUI, // FrameOfReferenceUID
	0x00200060: VRCS, // Laterality
	0x00200062: VRCS, // ImageLaterality
	0x00201040: VRLO, // PositionReferenceIndicator
	0x00201041: VRDS, // SliceLocation
	0x00201206: VRIS, // NumberOfStudyRelatedSeries
	0x00201208: VRIS, // NumberOfStudyRelatedInstances
	0x00201209: VRIS, // NumberOfSeriesRelatedInstances
	0x00204000: VRLT, // ImageComments
	0x00209165: VRAT, // DimensionIndexPointer
	0x00209167: VRAT, // FunctionalGroupPointer
	0x00280002: VRUS, // SamplesPerPixel
	0x00280004: VRCS, // PhotometricInterpretation
	0x00280006: VRUS, // PlanarConfiguration
	0x00280008: VRIS, // NumberOfFrames
	0x00280009: VRAT, // FrameIncrementPointer
	0x00280010: VRUS, // Rows
	0x00280011: VRUS, // Columns
	0x00280030: VRDS, // PixelSpacing
	0x00280034: VRIS, // PixelAspectRatio
	0x00280100: VRUS, // BitsAllocated
	0x00280101: VRUS, // BitsStored
	0x00280102: VRUS, // HighBit
	0x00280103: VRUS, // PixelRepresentation
	0x00280106: VRUS, // SmallestImagePixelValue
	0x00280107: VRUS, // LargestImagePixelValue
	0x00280301: VRCS, // BurnedInAnnotation
	0x00280302: VRCS, // RecognizableVisualFeatures
	0x00281050: VRDS, // WindowCenter
	0x00281051: VRDS, // WindowWidth
	0x00281052: VRDS, // RescaleIntercept
	0x00281053: VRDS, // RescaleSlope
	0x00281054: VRLO, // RescaleType
	0x00281055: VRLO, // WindowCenterWidthExplanation
	0x00282110: VRCS, // LossyImageCompression
	0x00282112: VRDS, // LossyImageCompressionRatio
	0x00282114: VRCS, // LossyImageCompressionMethod
	0x00321032: VRPN, // RequestingPhysician
	0x00321060: VRLO, // RequestedProcedureDescription
	0x00321064: VRSQ, // RequestedProcedureCodeSequence
	0x00400001: VRAE, // ScheduledStationAETitle
	0x00400002: VRDA, // ScheduledProcedureStepStartDate
	0x00400003: VRTM, // ScheduledProcedureStepStartTime
	0x00400006: VRPN, // ScheduledPerformingPhysicianName
	0x00400007: VRLO, // ScheduledProcedureStepDescription
	0x00400008: VRSQ, // ScheduledProtocolCodeSequence
	0x00400009: VRSH, // ScheduledProcedureStepID
	0x00400100: VRSQ, // ScheduledProcedureStepSequence
	0x00400244: VRDA, // PerformedProcedureStepStartDate
	0x00400245: VRTM, // PerformedProcedureStepStartTime
	0x00400253: VRSH, // PerformedProcedureStepID
	0x00400254: VRLO, // PerformedProcedureStepDescription
	0x00400275: VRSQ, // RequestAttributesSequence
	0x00401001: VRSH, // RequestedProcedureID
	0x00401002: VRLO, // ReasonForTheRequestedProcedure
	0x00402016: VRLO, // PlacerOrderNumberImagingServiceRequest
	0x00402017: VRLO, // FillerOrderNumberImagingServiceRequest
	0x0040A010: VRCS, // RelationshipType
	0x0040A040: VRCS, // ValueType
	0x0040A043: VRSQ, // ConceptNameCodeSequence
	0x0040A050: VRCS, // ContinuityOfContent
	0x0040A120: VRDT, // DateTime
	0x0040A123: VRPN, // PersonName
	0x0040A124: VRUI, // UID
	0x0040A160: VRUT, // TextValue
	0x0040A168: VRSQ, // ConceptCodeSequence
	0x0040A491: VRCS, // CompletionFlag
	0x0040A493: VRCS, // VerificationFlag
	0x0040A730: VRSQ, // ContentSequence
	0x00420010: VRST, // DocumentTitle
	0x00420011: VROB, // EncapsulatedDocument
	0x00420012: VRLO, // MIMETypeOfEncapsulatedDocument
	0x00660022: VROD, // DoublePointCoordinatesData
	0x00660040: VROL, // LongPrimitivePointIndexList
	0x00720081: VROV, // SelectorOVValue
	0x00720082: VRSV, // SelectorSVValue
	0x00720083: VRUV, // SelectorUVValue
	0x00880200: VRSQ, // IconImageSequence
	0x7FE00001: VROV, // ExtendedOffsetTable
	0x7FE00002: VROV, // ExtendedOffsetTableLengths
	0x7FE00008: VROF, // FloatPixelData
	0x7FE00009: VROD, // DoubleFloatPixelData
	0x7FE00010: VROW, // PixelData
	0xFFFCFFFC: VROB, // DataSetTrailingPadding
}

// lookupVR gives the VR of t for a data set encoded without explicit VRs.
func lookupVR(t Tag) VR {
	if vr, ok := implicitVR[t]; ok {
		return vr
	}
	switch {
	case t.Element() == 0x0000:
		return VRUL // group length
	case t.IsPrivate() && 0x0010 <= t.Element() && t.Element() <= 0x00FF:
		return VRLO // private creator
	}
	return VRUN
}
